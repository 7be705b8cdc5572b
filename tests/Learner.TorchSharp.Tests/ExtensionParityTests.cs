using Learner.Objectives;
using Learner.Objectives.Distances;
using Learner.Objectives.Options;
using Learner.Objectives.Reducers;
using Learner.TorchSharp.Objectives;
using static TorchSharp.torch;
using TTensor = TorchSharp.torch.Tensor;

namespace Learner.TorchSharp.Tests;

/// <summary>The device extension points: a user distance written once for each backend gives the same losses and
/// gradients; a user-written device objective (derived from <see cref="TorchSharpObjective{TOptions}"/>) equals the
/// managed objective it mirrors; parts are copied to the host only when asked for.</summary>
public class ExtensionParityTests
{
    private const double Tolerance = 1e-5;

    /// <summary>The pseudo-Huber distance δ²(sqrt(1 + ‖a − b‖²/δ²) − 1), managed.</summary>
    sealed class PseudoHuber(double delta) : CustomDistance
    {
        protected override double Distance(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
        {
            double s = 0;
            for (int k = 0; k < a.Length; k++) { double t = a[k] - b[k]; s += t * t; }
            return delta * delta * (Math.Sqrt(1 + s / (delta * delta)) - 1);
        }

        protected override void Gradient(ReadOnlySpan<float> a, ReadOnlySpan<float> b, double distance, Span<double> gradA, Span<double> gradB)
        {
            double scale = 1 / (1 + distance / (delta * delta));
            for (int k = 0; k < a.Length; k++) { gradA[k] = scale * (a[k] - b[k]); gradB[k] = -gradA[k]; }
        }
    }

    /// <summary>The same distance as torch operations (autograd gives its gradient).</summary>
    sealed class DevicePseudoHuber(double delta) : TorchSharpDistance
    {
        public override TTensor Between(TTensor a, TTensor b)
            => ((a - b).square().sum(1) / (delta * delta) + 1).sqrt().sub(1).mul(delta * delta);
    }

    /// <summary>Positives d², negatives a soft-plus hinge log(1 + e^(m − d)): the guide's penalty.</summary>
    sealed class SoftMargin(double margin) : PairPenalty
    {
        public override double Evaluate(double distance, bool positive, out double gradient)
        {
            if (positive) { gradient = 2 * distance; return distance * distance; }
            double v = margin - distance, e = Math.Exp(-Math.Abs(v));
            gradient = -(v >= 0 ? 1 / (1 + e) : e / (1 + e));
            return Math.Max(v, 0) + Math.Log(1 + e);
        }
    }

    /// <summary>A third party's device objective: the soft-margin penalty over every pair i &lt; j, positive when the labels
    /// agree, on any device distance, mean over pairs — what <see cref="PairPenaltyLoss"/> with <see cref="SoftMargin"/>
    /// computes on the host.</summary>
    sealed class DeviceSoftMarginLoss(double margin, TorchSharpDistance distance, Device device)
        : TorchSharpObjective<PairPenaltyOptions>("soft-margin", new PairPenaltyOptions { UseProvidedPairs = false }, device)
    {
        public override BatchFields Requires => BatchFields.Labels;

        protected override TTensor LossCore(TTensor z, TTensor? second, in EmbeddingBatch meta, IReadOnlyList<TTensor> parameters, out int active)
        {
            int n = meta.Count;
            var lab = UploadIndex(BatchContract.Labels(meta, Name));
            var upper = ones(n, n, ScalarType.Bool, Device).triu(1);
            var positive = lab.unsqueeze(1).eq(lab.unsqueeze(0)).logical_and(upper);
            var negative = positive.logical_not().logical_and(upper);
            var d = distance.Matrix(z);
            var v = d.neg().add(margin);
            var terms = d.square().where(positive, v.relu() + v.abs().neg().exp().log1p());
            long pairs = (long)n * (n - 1) / 2;
            active = (int)pairs;
            var pos = (terms * positive.to_type(ScalarType.Float32)).sum() / pairs;
            var neg = (terms * negative.to_type(ScalarType.Float32)).sum() / pairs;
            int positives = (int)positive.sum().item<long>();
            return Parts(pos, neg, new MiningStatistics { Pairs = pairs, PositivePairs = positives });
        }
    }

    static (float[] E, int[] Labels, float[] Scores, IndexPair[] Pairs, IndexTriplet[] Triplets) Data(int seed, int b = 10, int d = 5)
    {
        var rng = new Learner.Nn.Rng((ulong)seed);
        var e = new float[b * d];
        for (int k = 0; k < e.Length; k++) e[k] = (float)rng.NextGaussian();
        var labels = Enumerable.Range(0, b).Select(i => i % 3).ToArray();
        var scores = Enumerable.Range(0, b).Select(_ => MathF.Round((float)(rng.NextDouble() * 4), 1)).ToArray();
        var pairs = Enumerable.Range(0, 12).Select(k => new IndexPair(k % b, (k * 3 + 1) % b, k % 3 == 0)).Where(p => p.First != p.Second).ToArray();
        var triplets = new[] { new IndexTriplet(0, 3, 1), new IndexTriplet(4, 7, 2), new IndexTriplet(5, 8, 9) };
        return (e, labels, scores, pairs, triplets);
    }

    static void Same(IObjective managed, IObjective device, EmbeddingBatch batch, string what)
    {
        var gm = new float[batch.Embeddings.Length]; var gd = new float[gm.Length];
        var rm = managed.Compute(batch, gm);
        var rd = device.Compute(batch, gd);
        (Math.Abs(rd.Loss - rm.Loss) / Math.Max(1e-12, Math.Abs(rm.Loss))).Should().BeLessThan(Tolerance, $"{what}: loss {rd.Loss} vs {rm.Loss}");
        rm.Loss.Should().BeGreaterThan(0, what);
        double max = gm.Max(Math.Abs);
        max.Should().BeGreaterThan(0, what);
        for (int k = 0; k < gm.Length; k++) ((double)Math.Abs(gd[k] - gm[k])).Should().BeLessThan(Tolerance * max, $"{what}: grad[{k}]");
        rd.Parts.Count.Should().Be(rm.Parts.Count, what);
        for (int p = 0; p < rm.Parts.Count; p++) rd.Parts[p].Value.Should().BeApproximately(rm.Parts[p].Value, Tolerance * Math.Max(1, rm.Loss), what);
    }

    [TorchSharpFact]
    public void A_user_distance_gives_the_managed_values_on_the_device_pair_and_triplet_objectives()
    {
        var (e, labels, scores, pairs, triplets) = Data(3);
        var dev = TestDevice.Current;
        var all = new EmbeddingBatch(e, 10, 5) { Labels = labels, Scores = scores };
        var withPairs = new EmbeddingBatch(e, 10, 5) { Labels = labels, Scores = scores, Pairs = pairs, Triplets = triplets };
        var c = new ContrastiveOptions { UseProvidedPairs = false, Margin = 2f };
        using (var d = new TorchSharpContrastiveLoss(c, dev, new DevicePseudoHuber(1.5)))
            Same(new ContrastiveLoss(c, new PseudoHuber(1.5)), d, all, "contrastive all pairs");
        var cp = new ContrastiveOptions { Margin = 2f, Reduction = Reduction.PositiveNegativeMeansOverActive };
        using (var d = new TorchSharpContrastiveLoss(cp, dev, new DevicePseudoHuber(0.7)))
            Same(new ContrastiveLoss(cp, new PseudoHuber(0.7)), d, withPairs, "contrastive sampler pairs");
        var w = new WeightedContrastiveOptions { Margin = 2f, MarginByGap = true, PositiveThreshold = 0.3f };
        using (var d = new TorchSharpWeightedContrastiveLoss(w, dev, new DevicePseudoHuber(1.5)))
            Same(new WeightedContrastiveLoss(w, new PseudoHuber(1.5)), d, all, "weighted all pairs");
        using (var d = new TorchSharpWeightedContrastiveLoss(w, dev, new DevicePseudoHuber(1.5)))
            Same(new WeightedContrastiveLoss(w, new PseudoHuber(1.5)), d, withPairs, "weighted sampler pairs");
        foreach (var selection in new[] { TripletSelection.BatchAll, TripletSelection.BatchHard, TripletSelection.Provided })
        {
            var t = new TripletOptions { Selection = selection, Margin = 1f, Reduction = Reduction.Mean };
            using var d = new TorchSharpTripletLoss(t, dev, new DevicePseudoHuber(1.5));
            Same(new TripletLoss(t, new PseudoHuber(1.5)), d, withPairs, $"triplet {selection}");
        }
    }

    [TorchSharpFact]
    public void The_built_in_device_distances_agree_between_matrix_pairs_and_rows()
    {
        var (e, _, _, _, _) = Data(4);
        using var scope = NewDisposeScope();
        var z = tensor(e, new long[] { 10, 5 }).to(TestDevice.Current);
        var i = tensor(new long[] { 0, 3, 7, 2 }).to(TestDevice.Current);
        var j = tensor(new long[] { 1, 3, 9, 8 }).to(TestDevice.Current);
        foreach (var kind in Enum.GetValues<DistanceKind>())
        {
            var distance = TorchSharpDistance.Create(kind);
            var managed = PairDistance.Create(kind);
            managed.Prepare(e, 10, 5);
            var matrix = distance.Matrix(z).cpu().data<float>().ToArray();
            var pairs = distance.Pairs(z, i, j).cpu().data<float>().ToArray();
            var rows = distance.Between(z.index_select(0, i), z.index_select(0, j)).cpu().data<float>().ToArray();
            long[] ii = { 0, 3, 7, 2 }, jj = { 1, 3, 9, 8 };
            for (int k = 0; k < 4; k++)
            {
                double expected = managed.Pair((int)ii[k], (int)jj[k]);
                pairs[k].Should().BeApproximately((float)expected, 1e-5f, $"{kind} pair {k}");
                rows[k].Should().BeApproximately((float)expected, 1e-5f, $"{kind} rows {k}");
                matrix[ii[k] * 10 + jj[k]].Should().BeApproximately((float)expected, 1e-5f, $"{kind} matrix {k}");
            }
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => TorchSharpDistance.Create((DistanceKind)99));
    }

    [TorchSharpFact]
    public void A_user_written_device_objective_equals_the_managed_objective_it_mirrors()
    {
        var (e, labels, _, _, _) = Data(5);
        var batch = new EmbeddingBatch(e, 10, 5) { Labels = labels };
        var managed = new PairPenaltyLoss("soft-margin", new SoftMargin(0.6), new PairPenaltyOptions { UseProvidedPairs = false, Distance = DistanceKind.Cosine });
        using var device = new DeviceSoftMarginLoss(0.6, TorchSharpDistance.Create(DistanceKind.Cosine), TestDevice.Current);
        Same(managed, device, batch, "user device objective");
        var rd = device.Compute(batch, default);
        rd.Parts[0].Name.Should().Be("soft-margin.positive");
        rd.Mining.Pairs.Should().Be(45);
        // The missing-labels refusal is the base's contract: BatchContract's message, before any device work.
        var ex = Assert.Throws<ObjectiveInputException>(() => device.Compute(new EmbeddingBatch(e, 10, 5), default));
        ex.Message.Should().Contain("soft-margin");

        // On device embeddings (a TorchSharp training loop): the loss tensor's backward gives the managed gradient.
        using var scope = NewDisposeScope();
        var z = tensor(e, new long[] { 10, 5 }).to(TestDevice.Current).requires_grad_(true);
        var loss = device.Loss(z, new BatchMetadata { Labels = labels });
        loss.Value.backward();
        var gm = new float[e.Length];
        managed.Compute(batch, gm);
        var gd = z.grad!.cpu().data<float>().ToArray();
        double max = gm.Max(Math.Abs);
        for (int k = 0; k < gm.Length; k++) ((double)Math.Abs(gd[k] - gm[k])).Should().BeLessThan(Tolerance * max, $"device-tensor grad[{k}]");
    }

    [TorchSharpFact]
    public void Device_parts_and_mining_are_copied_only_when_reported()
    {
        var (e, labels, scores, _, _) = Data(6);
        var batch = new EmbeddingBatch(e, 10, 5) { Labels = labels, Scores = scores };
        using var device = new TorchSharpWeightedContrastiveLoss(null, TestDevice.Current);
        var on = device.Compute(batch, default);
        on.Parts.Count.Should().Be(2);
        on.Mining.Pairs.Should().Be(45);
        device.ReportsDetails = false;
        var off = device.Compute(batch, default);
        off.Parts.Count.Should().Be(0);
        off.Mining.Should().Be(default(MiningStatistics));
        off.Loss.Should().Be(on.Loss, "the loss does not depend on reporting");
        using var composite = new CompositeObjective(new CompositeTerm("w", new TorchSharpWeightedContrastiveLoss(null, TestDevice.Current), 1));
        composite.ReportsDetails = false;
        composite.Compute(batch, default).Parts.Count.Should().Be(0, "the composite forwards the switch");
    }
}
