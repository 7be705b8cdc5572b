using Learner.Data;
using Learner.Downstream;
using Learner.Nn;
using Learner.Sampling;

namespace Learner.Tests.Downstream;

public class VisitPairsTests
{
    /// <summary>Patients × 3 visits × 2 scans; the visit score moves by −30, 0 or +30 per visit.</summary>
    private static LongitudinalDataset Cohort(int patients = 12)
    {
        var rng = new Rng(5);
        var scans = new List<Scan>();
        for (int p = 0; p < patients; p++)
        {
            double score = 300;
            for (int v = 0; v < 3; v++)
            {
                for (int c = 0; c < 2; c++)
                    scans.Add(new Scan($"p{p}-v{v}-c{c}", $"p{p}", v, score + c, payload: new TensorPayload(Tensor.FromSpan(new[] { (float)rng.NextGaussian() }, 1))));
                score += (rng.NextInt(3) - 1) * 30;
            }
        }
        return new LongitudinalDataset(scans, higherIsHealthier: true);
    }

    [Fact]
    public void Visits_group_a_days_scans_and_pairs_are_consecutive_visits_labelled_by_the_mean_score()
    {
        var data = Cohort();
        var visits = new VisitPairs(data, ChangeThresholds.Absolute(20));
        visits.Visits.Should().HaveCount(12 * 3);
        visits.Visits.Should().OnlyContain(v => v.ScanIndices.Length == 2);
        visits.Pairs.Should().HaveCount(12 * 2);
        foreach (var pair in visits.Pairs)
        {
            var (a, b) = (visits.Visits[pair.Before], visits.Visits[pair.After]);
            a.PatientId.Should().Be(b.PatientId);
            b.VisitIndex.Should().Be(a.VisitIndex + 1);
            a.ChangeScore.Should().Be(data.Scans[a.ScanIndices[0]].Score!.Value + 0.5, "a visit's score is the mean of its scans'");
            double delta = b.ChangeScore - a.ChangeScore;
            pair.Change.Should().Be(delta > 20 ? ChangeLabel.Improved : delta < -20 ? ChangeLabel.Worsened : ChangeLabel.Stable);
        }
        visits.PairPatients().Should().Equal(visits.Pairs.Select(p => visits.Visits[p.Before].PatientIndex));
    }

    [Fact]
    public void Mean_embeddings_average_each_visits_scans()
    {
        var data = Cohort(2);
        var visits = new VisitPairs(data, ChangeThresholds.Absolute(20));
        var emb = Enumerable.Range(0, data.ScanCount * 2).Select(i => (float)i).ToArray();
        var mean = visits.MeanEmbeddings(emb, 2);
        mean.Should().HaveCount(visits.Visits.Count * 2);
        var v0 = visits.Visits[0];
        mean[0].Should().Be((emb[v0.ScanIndices[0] * 2] + emb[v0.ScanIndices[1] * 2]) / 2);
        FluentActions.Invoking(() => visits.MeanEmbeddings(new float[3], 2)).Should().Throw<ArgumentException>().WithMessage("*3 embedding values*");
    }

    [Fact]
    public void Held_out_visit_prediction_recovers_change_that_the_embedding_encodes_and_refuses_shared_patients()
    {
        var data = Cohort(30);
        var visits = new VisitPairs(data, ChangeThresholds.Absolute(20));
        // An embedding that encodes the score (plus clip noise that averages out within a visit).
        var rng = new Rng(9);
        var emb = data.Scans.SelectMany(s => new[] { (float)(s.Score!.Value / 30 + 0.2 * rng.NextGaussian()), (float)rng.NextGaussian() }).ToArray();
        var train = data.Patients.Take(20).Select(p => p.Id).ToArray();
        var test = data.Patients.Skip(20).Select(p => p.Id).ToArray();
        var (result, rows) = visits.FitAndPredict(emb, 2, train, test, new ChangeClassifierOptions { L2 = 1e-3 });
        rows.Should().HaveCount(10 * 2);
        result.Truth.Should().Equal(rows.Select(r => (int)visits.Pairs[r].Change));
        result.MacroF1.Should().BeGreaterThan(0.9);
        FluentActions.Invoking(() => visits.FitAndPredict(emb, 2, train, train.Take(1).ToArray())).Should().Throw<PatientLeakageException>();
    }
}
