using Learner.Data;
using Learner.Downstream;
using Learner.Experiments;
using Learner.Nn;

namespace Learner.Tests.Experiments;

public class VisitPoolingExperimentTests
{
    /// <summary>16 patients × 3 visits × 3 scans of 3 features (score, a per-scan quality marker, noise).</summary>
    private static LongitudinalDataset Cohort()
    {
        var rng = new Rng(9);
        var scans = new List<Scan>();
        for (int p = 0; p < 16; p++)
        {
            double score = 200 + 200 * rng.NextDouble();
            for (int v = 0; v < 3; v++)
            {
                for (int c = 0; c < 3; c++)
                {
                    float noise = (float)((c == 2 ? 2 : 0.1) * rng.NextGaussian());
                    scans.Add(new Scan($"s{p}-{v}-{c}", $"p{p}", v, score,
                        payload: new TensorPayload(Tensor.FromSpan(new[] { (float)score / 100 + noise, c == 2 ? 1f : 0f, (float)rng.NextGaussian() }, 3))));
                }
                score += (rng.NextInt(3) - 1) * 40;
            }
        }
        return new LongitudinalDataset(scans, higherIsHealthier: true);
    }

    private static ExperimentOptions Options(VisitPooling pooling) => LearnerExperimentTests.Small() with
    {
        Objectives = new[] { "mse" },
        Protocol = new ExperimentProtocolOptions { TestFraction = 0.25 },
        VisitPooling = pooling,
    };

    private static readonly ExperimentRunOptions Cold = new() { WarmUp = false };

    [Fact]
    public void Attention_pooling_is_used_for_the_visit_level_and_is_fit_without_the_test_patients()
    {
        var data = Cohort();
        var attention = new LearnerExperiment(Options(VisitPooling.Attention)).Run(data, Cold, null, null, CancellationToken.None);
        var mean = new LearnerExperiment(Options(VisitPooling.Mean)).Run(data, Cold, null, null, CancellationToken.None);
        attention.Rows[0].Details!.PairDistances.Should().Equal(mean.Rows[0].Details!.PairDistances, "the clip level and the encoder do not depend on the pooling");
        attention.Rows[0].Visit!.Distances.Should().NotEqual(mean.Rows[0].Visit!.Distances, "the visit level pools with the learned weights");
        attention.Metadata.Settings.Should().Contain(kv => kv.Key == "visit pooling" && kv.Value.StartsWith("attention", StringComparison.Ordinal));

        // Other scores for the test patients only: had they reached the attention fit, their visit embeddings (and so
        // the visit distances) would move.
        var test = attention.Rows[0].Folds[0].TestPatients.ToHashSet();
        var changed = new LongitudinalDataset(data.Scans.Select(s => test.Contains(s.PatientId) ? s.WithScore(1000 - s.Score!.Value * (1 + 0.3 * s.VisitIndex)) : s), true);
        var again = new LearnerExperiment(Options(VisitPooling.Attention)).Run(changed, Cold, null, null, CancellationToken.None);
        again.Rows[0].Folds[0].TestPatients.Should().BeEquivalentTo(test);
        again.Rows[0].Visit!.Distances.Should().Equal(attention.Rows[0].Visit!.Distances);
        again.Rows[0].Visit!.Predicted.Should().Equal(attention.Rows[0].Visit!.Predicted);
        again.Rows[0].Visit!.Truth.Should().NotEqual(attention.Rows[0].Visit!.Truth, "the perturbation does change these patients' visit labels");
    }
}
