using Learner.Nn;
using Learner.Sampling;
using Learner.Tests.Data;

namespace Learner.Tests.Sampling;

public class TripletSamplerTests
{
    private static readonly InterPatientPairOptions Rules = new() { NegativeGap = 100 };

    [Theory]
    [InlineData(TripletSelection.Random)]
    [InlineData(TripletSelection.SemiHard)]
    [InlineData(TripletSelection.Hard)]
    public void Triplets_obey_the_rules(TripletSelection selection)
    {
        var ds = TestCohorts.Random(60, 1, 5, 8);
        var sampler = new InterPatientTripletSampler(ds, Rules, selection, candidateCount: 6);
        sampler.SetEmbeddings(Tensor.Normal(new Rng(2), 0, 1, ds.ScanCount, 4));
        var batch = new ScanTriplet[300];
        sampler.SampleBatch(batch, new Rng(3));
        foreach (var t in batch)
        {
            var (a, p, n) = (ds.Scans[t.Anchor], ds.Scans[t.Positive], ds.Scans[t.Negative]);
            a.PatientId.Should().NotBe(p.PatientId);
            a.PatientId.Should().NotBe(n.PatientId);
            a.CoarseLabel.Should().Be(p.CoarseLabel);
            Math.Abs(a.Score!.Value - n.Score!.Value).Should().BeGreaterThanOrEqualTo(100);
            t.NegativeGap.Should().Be((float)Math.Abs(a.Score!.Value - n.Score!.Value));
        }
    }

    [Fact]
    public void Harder_selection_picks_closer_negatives_and_farther_positives()
    {
        var ds = TestCohorts.Random(100, 1, 5, 9);
        var emb = Tensor.Normal(new Rng(4), 0, 1, ds.ScanCount, 8);
        double MeanDistance(TripletSelection sel, bool negative)
        {
            var s = new InterPatientTripletSampler(ds, Rules, sel, candidateCount: 8);
            s.SetEmbeddings(emb);
            var batch = new ScanTriplet[2000];
            s.SampleBatch(batch, new Rng(5));
            return batch.Average(t => Dist(emb, t.Anchor, negative ? t.Negative : t.Positive));
        }
        MeanDistance(TripletSelection.Hard, negative: true).Should().BeLessThan(MeanDistance(TripletSelection.Random, negative: true));
        MeanDistance(TripletSelection.Hard, negative: false).Should().BeGreaterThan(MeanDistance(TripletSelection.Random, negative: false));

        double FartherThanPositive(TripletSelection sel)
        {
            var s = new InterPatientTripletSampler(ds, Rules, sel, candidateCount: 8);
            s.SetEmbeddings(emb.Data, 8);
            var b = new ScanTriplet[2000];
            s.SampleBatch(b, new Rng(6));
            return b.Count(t => Dist(emb, t.Anchor, t.Negative) > Dist(emb, t.Anchor, t.Positive)) / 2000.0;
        }
        // Semi-hard negatives are farther than the positive whenever a candidate is; random ones only by chance.
        FartherThanPositive(TripletSelection.SemiHard).Should().BeGreaterThan(0.85).And.BeGreaterThan(FartherThanPositive(TripletSelection.Random) + 0.2);
    }

    private static double Dist(Tensor e, int i, int j)
    {
        int d = e.Dim(1);
        double s = 0;
        for (int k = 0; k < d; k++) { double x = e[i, k] - e[j, k]; s += x * x; }
        return Math.Sqrt(s);
    }

    [Fact]
    public void Embedding_selection_needs_embeddings_of_the_right_shape()
    {
        var ds = TestCohorts.Random(20, 1, 3, 10);
        var s = new InterPatientTripletSampler(ds, Rules, TripletSelection.Hard);
        FluentActions.Invoking(() => s.SampleBatch(new ScanTriplet[4], new Rng(1))).Should().Throw<InvalidOperationException>().WithMessage("*SetEmbeddings*");
        FluentActions.Invoking(() => s.SetEmbeddings(new float[ds.ScanCount * 3 + 1], 3)).Should().Throw<ShapeMismatchException>();
        FluentActions.Invoking(() => s.SetEmbeddings(Tensor.Zeros(ds.ScanCount + 1, 2))).Should().Throw<ShapeMismatchException>();
    }

    [Fact]
    public void Triplet_sampling_is_deterministic_and_allocation_free()
    {
        var ds = TestCohorts.Random(500, 1, 6, 12);
        var emb = Tensor.Normal(new Rng(1), 0, 1, ds.ScanCount, 16);
        var s1 = new InterPatientTripletSampler(ds, Rules, TripletSelection.SemiHard);
        var s2 = new InterPatientTripletSampler(ds, Rules, TripletSelection.SemiHard);
        s1.SetEmbeddings(emb);
        s2.SetEmbeddings(emb);
        var b1 = new ScanTriplet[256];
        var b2 = new ScanTriplet[256];
        s1.SampleBatch(b1, new Rng(9));
        s2.SampleBatch(b2, new Rng(9));
        b1.Should().Equal(b2);
        var rng = new Rng(2);
        SteadyStateAllocations.Bytes(() => { for (int i = 0; i < 10; i++) s1.SampleBatch(b1, rng); }).Should().Be(0);
    }
}
