using Learner.Data;
using Learner.Downstream;
using Learner.Nn;
using Learner.Sampling;

namespace Learner.Tests.Downstream;

public class AttentionVisitPoolingTests
{
    /// <summary>Patients × 3 visits × 4 scans; <paramref name="scoreOf"/> gives each visit's score.</summary>
    private static LongitudinalDataset Cohort(int patients, Func<int, int, double> scoreOf)
    {
        var scans = new List<Scan>();
        for (int p = 0; p < patients; p++)
            for (int v = 0; v < 3; v++)
                for (int c = 0; c < 4; c++)
                    scans.Add(new Scan($"p{p}-v{v}-c{c}", $"p{p}", v, scoreOf(p, v), payload: new TensorPayload(Tensor.FromSpan(new[] { 0f }, 1))));
        return new LongitudinalDataset(scans, higherIsHealthier: true);
    }

    private static double Score(int p, int v) => 200 + 40 * Math.Sin(p * 1.7 + v * 2.3);

    /// <summary>3-D embeddings: a quality marker (1 on the clean scans 0–2 of a visit, 0 on scan 3), the visit's score
    /// (exact on clean scans, drowned in noise on scan 3), and noise.</summary>
    private static float[] Embeddings(LongitudinalDataset data, ulong seed)
    {
        var rng = new Rng(seed);
        var emb = new float[data.ScanCount * 3];
        foreach (var s in data.Scans)
        {
            bool clean = !s.Id.EndsWith("-c3", StringComparison.Ordinal);
            emb[s.Index * 3] = clean ? 1 : 0;
            emb[s.Index * 3 + 1] = (float)((s.Score!.Value - 200) / 40 + (clean ? 0.05 : 3) * rng.NextGaussian());
            emb[s.Index * 3 + 2] = (float)rng.NextGaussian();
        }
        return emb;
    }

    private static string[] Ids(int from, int to) => Enumerable.Range(from, to - from).Select(p => $"p{p}").ToArray();

    [Fact]
    public void The_fit_learns_to_down_weight_the_scan_that_does_not_carry_the_score()
    {
        var data = Cohort(40, Score);
        var visits = new VisitPairs(data, ChangeThresholds.Absolute(20));
        var emb = Embeddings(data, 3);
        var pooling = AttentionVisitPooling.Fit(visits, emb, 3, Ids(0, 30));
        var w = pooling.ScanWeights(emb);
        foreach (var visit in visits.Visits)
            visit.ScanIndices.Sum(s => w[s]).Should().BeApproximately(1, 1e-9, "a visit's weights sum to 1");
        // On the patients the fit never saw, the noisy scan gets little weight and the pooled score feature is closer to
        // the visit's score than the plain mean's.
        var held = visits.Visits.Where(v => v.PatientIndex >= 30).ToArray();
        held.Should().OnlyContain(v => w[v.ScanIndices[3]] < 0.1);
        var pooled = pooling.Pool(emb);
        var mean = visits.MeanEmbeddings(emb, 3);
        int[] heldRows = visits.Visits.Select((v, i) => (v, i)).Where(t => t.v.PatientIndex >= 30).Select(t => t.i).ToArray();
        double Error(float[] e) => heldRows.Average(i => Math.Abs(e[i * 3 + 1] - (visits.Visits[i].ChangeScore - 200) / 40));
        Error(pooled).Should().BeLessThan(Error(mean) / 2);
    }

    [Fact]
    public void Test_patients_embeddings_and_scores_do_not_reach_the_fit()
    {
        var train = Ids(0, 30);
        var data = Cohort(40, Score);
        var visits = new VisitPairs(data, ChangeThresholds.Absolute(20));
        var emb = Embeddings(data, 3);
        var reference = AttentionVisitPooling.Fit(visits, emb, 3, train).Attention;

        // Other scores and other embeddings for patients 30–39 only: the fitted attention is bit-identical.
        var altered = Cohort(40, (p, v) => p >= 30 ? 1000 - Score(p, v) : Score(p, v));
        var alteredVisits = new VisitPairs(altered, ChangeThresholds.Absolute(20));
        var alteredEmb = (float[])emb.Clone();
        foreach (var s in altered.Scans.Where(s => s.PatientId is var id && !train.Contains(id)))
            for (int j = 0; j < 3; j++) alteredEmb[s.Index * 3 + j] = 7 - 3 * alteredEmb[s.Index * 3 + j];
        AttentionVisitPooling.Fit(alteredVisits, alteredEmb, 3, train).Attention.Should().Equal(reference);

        // And they do reach it when they are training patients (the comparison above can fail).
        AttentionVisitPooling.Fit(alteredVisits, alteredEmb, 3, Ids(0, 40)).Attention.Should().NotEqual(AttentionVisitPooling.Fit(visits, emb, 3, Ids(0, 40)).Attention);
    }

    [Fact]
    public void One_step_from_zero_attention_is_mean_pooling()
    {
        var data = Cohort(10, Score);
        var visits = new VisitPairs(data, ChangeThresholds.Absolute(20));
        var emb = Embeddings(data, 4);
        // The first Adam step moves the score head only (the attention gradient is zero while the head is zero).
        var pooling = AttentionVisitPooling.Fit(visits, emb, 3, Ids(0, 10), new AttentionPoolingOptions { Iterations = 1 });
        pooling.Attention.Should().OnlyContain(u => u == 0);
        pooling.Pool(emb).Should().BeEquivalentTo(visits.MeanEmbeddings(emb, 3), o => o.Using<float>(c => c.Subject.Should().BeApproximately(c.Expectation, 1e-6f)).WhenTypeIs<float>());
    }

    [Fact]
    public void Invalid_inputs_are_named()
    {
        var data = Cohort(4, Score);
        var visits = new VisitPairs(data, ChangeThresholds.Absolute(20));
        var emb = Embeddings(data, 1);
        FluentActions.Invoking(() => AttentionVisitPooling.Fit(visits, emb, 3, new[] { "nobody" })).Should().Throw<ArgumentException>().WithMessage("*training patients*");
        FluentActions.Invoking(() => AttentionVisitPooling.Fit(visits, new float[5], 3, Ids(0, 4))).Should().Throw<ArgumentException>().WithMessage("*5 embedding values*");
        FluentActions.Invoking(() => AttentionVisitPooling.Fit(visits, emb, 3, Ids(0, 4), new AttentionPoolingOptions { Iterations = 0 })).Should().Throw<ArgumentException>().WithMessage("*Iterations*");
        var fitted = AttentionVisitPooling.Fit(visits, emb, 3, Ids(0, 4));
        FluentActions.Invoking(() => fitted.Pool(new float[6])).Should().Throw<ArgumentException>().WithMessage("*6 embedding values*");
    }
}
