using Learner.Objectives;
using Learner.Objectives.Options;

namespace Learner.Tests.Objectives;

/// <summary>The within-patient term of <see cref="MseScoreRegression"/> (<see cref="MseOptions.WithinPatientWeight"/>):
/// what it adds, what it ignores, and what it refuses.</summary>
public class MseWithinPatientTests
{
    private const int B = 12, D = 5;

    private static (double Loss, float[] Grad, float[] HeadGrad, float HeadBiasGrad) Run(double lambda, float[] scores, int[] patients)
    {
        var rng = new Learner.Nn.Rng(4);
        var e = Enumerable.Range(0, B * D).Select(_ => (float)rng.NextGaussian()).ToArray();
        var mse = new MseScoreRegression(new MseOptions { EmbeddingDimension = D, ScoreOffset = 2f, ScoreScale = 1.5f, InitSeed = 9, WithinPatientWeight = lambda });
        var grad = new float[B * D];
        var result = mse.Compute(new EmbeddingBatch(e, B, D) { Scores = scores, PatientIds = patients }, grad);
        return (result.Loss, grad, mse.HeadWeightGradient.ToArray(), mse.HeadBiasGradient.Data[0]);
    }

    private static float[] Scores() => Enumerable.Range(0, B).Select(i => 0.5f * i - 1f).ToArray();

    [Fact]
    public void With_one_scan_per_patient_the_term_adds_nothing()
    {
        var alone = Enumerable.Range(0, B).ToArray();
        var plain = Run(0, Scores(), alone);
        var within = Run(16, Scores(), alone);
        within.Loss.Should().Be(plain.Loss);
        within.Grad.Should().Equal(plain.Grad);
        within.HeadGrad.Should().Equal(plain.HeadGrad);
        within.HeadBiasGrad.Should().Be(plain.HeadBiasGrad);
    }

    [Fact]
    public void The_term_ignores_a_score_offset_shared_by_all_of_a_patients_scans()
    {
        int[] patients = [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3];
        var shifted = Scores();
        for (int i = 3; i < 6; i++) shifted[i] += 1.2f;  // patient 1's scores all 1.2 higher: its changes are the same
        const double Lambda = 16;
        // L(λ) − L(0) is λ × the term: unchanged by the shift, while plain MSE's part changes.
        double term = Run(Lambda, Scores(), patients).Loss - Run(0, Scores(), patients).Loss;
        double termShifted = Run(Lambda, shifted, patients).Loss - Run(0, shifted, patients).Loss;
        term.Should().BeGreaterThan(0);
        termShifted.Should().BeApproximately(term, 1e-5 * term);
        Run(0, shifted, patients).Loss.Should().NotBeApproximately(Run(0, Scores(), patients).Loss, 1e-3);
    }

    [Fact]
    public void Without_patient_ids_it_is_refused_and_a_bad_weight_is_named()
    {
        var mse = new MseScoreRegression(new MseOptions { EmbeddingDimension = D, WithinPatientWeight = 2 });
        mse.Requires.Should().HaveFlag(BatchFields.PatientIds);
        new MseScoreRegression(new MseOptions { EmbeddingDimension = D }).Requires.Should().NotHaveFlag(BatchFields.PatientIds);
        var act = () => mse.Compute(new EmbeddingBatch(new float[B * D], B, D) { Scores = Scores() }, new float[B * D]);
        act.Should().Throw<ObjectiveInputException>().WithMessage("*PatientIds*");
        foreach (double bad in new[] { -1.0, double.NaN, double.PositiveInfinity })
        {
            var make = () => new MseScoreRegression(new MseOptions { EmbeddingDimension = D, WithinPatientWeight = bad });
            make.Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == nameof(MseOptions.WithinPatientWeight))
                .WithMessage("*WithinPatientWeight*");
        }
    }
}
