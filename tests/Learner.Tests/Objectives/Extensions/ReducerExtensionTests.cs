using Learner.Examples.Extensions;
using Learner.Objectives;
using Learner.Objectives.Miners;
using Learner.Objectives.Options;
using Learner.Objectives.Reducers;
using static Learner.Tests.Objectives.ObjectiveHarness;

namespace Learner.Tests.Objectives.Extensions;

/// <summary>A user-written reducer: the engine's term path (terms stored, weighed once, pushed back) against the count
/// path, the built-ins as instances, and the public reducer check.</summary>
public class ReducerExtensionTests
{
    /// <summary>A built-in reduction written as a term reducer, so that the engine takes its stored-term path.</summary>
    sealed class TermwiseCopy(Reduction reduction) : ReducerBase
    {
        public override void Weights(ReadOnlySpan<double> terms, ReadOnlySpan<TermKind> kinds, Span<double> weights)
            => ReducerBase.For(reduction).Weights(terms, kinds, weights);
    }

    /// <summary>Weights that vary smoothly with the terms (w = ℓ): not the gradient of Σ w ℓ, which the check must catch.</summary>
    sealed class SmoothWeights : ReducerBase
    {
        public override void Weights(ReadOnlySpan<double> terms, ReadOnlySpan<TermKind> kinds, Span<double> weights) => terms.CopyTo(weights);
    }

    static (ObjectiveResult R, float[] G) Run(IObjective o, RefBatch r, bool withPairs, bool patients)
    {
        var e = F(r.E); var g = new float[e.Length];
        var pairs = withPairs ? new[] { new IndexPair(0, 1, true), new IndexPair(2, 5, false), new IndexPair(3, 4, false), new IndexPair(1, 7, true), new IndexPair(6, 8, false) } : null;
        var batch = new EmbeddingBatch(e, r.B, r.D)
        {
            Labels = r.Labels!, Scores = F(r.Scores!), PatientIds = patients ? r.Labels!.Select((l, i) => i / 2).ToArray() : default(ReadOnlySpan<int>),
            Pairs = pairs ?? default(ReadOnlySpan<IndexPair>),
        };
        return (o.Compute(batch, g), g);
    }

    static void Same((ObjectiveResult R, float[] G) a, (ObjectiveResult R, float[] G) b, string what)
    {
        a.R.Loss.Should().BeApproximately(b.R.Loss, 1e-9 * Math.Max(1, Math.Abs(b.R.Loss)), what);
        a.R.Parts[0].Value.Should().BeApproximately(b.R.Parts[0].Value, 1e-9 * Math.Max(1, Math.Abs(b.R.Parts[0].Value)), what);
        double max = b.G.Max(Math.Abs);
        for (int k = 0; k < a.G.Length; k++) a.G[k].Should().BeApproximately(b.G[k], (float)(1e-5 * max + 1e-8), $"{what} grad[{k}]");
    }

    [Theory]
    [InlineData(Reduction.Mean, false, false)]
    [InlineData(Reduction.MeanOverActive, false, true)]
    [InlineData(Reduction.PositiveNegativeMeansOverActive, false, false)]
    [InlineData(Reduction.PositiveNegativeMeansOverActive, true, false)]
    [InlineData(Reduction.Sum, true, false)]
    public void A_term_reducer_gives_the_count_reducers_values_on_every_pair_path(Reduction reduction, bool pairs, bool patients)
    {
        var r = Random(41, 12, 5, classes: 3);
        var o = new ContrastiveOptions { Margin = 0.9f, UseProvidedPairs = pairs, InterPatientOnly = patients, Reduction = reduction };
        Same(Run(new ContrastiveLoss(o with { Reduction = Reduction.Mean }, null, new TermwiseCopy(reduction)), r, pairs, patients), Run(new ContrastiveLoss(o), r, pairs, patients), $"contrastive {reduction}");
        var w = new WeightedContrastiveOptions { Margin = 0.9f, PositiveThreshold = 0.3f, UseProvidedPairs = pairs, InterPatientOnly = patients, Reduction = reduction };
        Same(Run(new WeightedContrastiveLoss(w with { Reduction = Reduction.Mean }, null, new TermwiseCopy(reduction)), r, pairs, patients), Run(new WeightedContrastiveLoss(w), r, pairs, patients), $"weighted {reduction}");
    }

    [Theory]
    [InlineData(Reduction.MeanOverActive)]
    [InlineData(Reduction.Mean)]
    [InlineData(Reduction.Sum)]
    public void A_term_reducer_on_every_listed_triplet_equals_the_fused_batch_all_selection_and_the_fused_selections_refuse_it(Reduction reduction)
    {
        // Two independent paths: the sampler's triplets (exact distances, the terms stored and weighed by a term reducer)
        // against the fused batch-all selection (GEMM distance blocks, per-row sums, the built-in count reducer).
        var r = Random(42, 14, 6, classes: 3);
        var labels = r.Labels!;
        var every = (from a in Enumerable.Range(0, r.B) from p in Enumerable.Range(0, r.B) from q in Enumerable.Range(0, r.B)
                     where a != p && labels[a] == labels[p] && labels[q] != labels[a] select new IndexTriplet(a, p, q)).ToArray();
        var o = new TripletOptions { Margin = 0.4f };
        var listed = Triplets(new TripletLoss(o with { Selection = TripletSelection.Provided }, null, new TermwiseCopy(reduction)), r, every);
        var fused = Run(new TripletLoss(o with { Selection = TripletSelection.BatchAll, Reduction = reduction }), r, false, false);
        fused.R.Mining.Triplets.Should().Be(every.Length);
        listed.R.Mining.Triplets.Should().Be(every.Length);
        fused.R.Loss.Should().BeGreaterThan(0);
        listed.R.Loss.Should().BeApproximately(fused.R.Loss, 1e-5 * fused.R.Loss, $"{reduction}: listed vs fused batch-all");
        double max = fused.G.Max(Math.Abs);
        max.Should().BeGreaterThan(0);
        for (int k = 0; k < fused.G.Length; k++) listed.G[k].Should().BeApproximately(fused.G[k], (float)(1e-5 * max), $"{reduction} grad[{k}]");

        var ex = Assert.Throws<ArgumentException>(() => new TripletLoss(o with { Selection = TripletSelection.BatchAll }, null, new HardestFractionReducer()));
        ex.Message.Should().Contain("BatchAll").And.Contain("HardestFractionReducer");
        new TripletLoss(o with { Selection = TripletSelection.BatchAll }, null, MeanReducer.Instance).Reducer.Should().BeSameAs(MeanReducer.Instance);

        static (ObjectiveResult R, float[] G) Triplets(IObjective objective, RefBatch r, IndexTriplet[] triplets)
        {
            var e = F(r.E); var g = new float[e.Length];
            return (objective.Compute(new EmbeddingBatch(e, r.B, r.D) { Triplets = triplets }, g), g);
        }
    }

    [Fact]
    public void The_hardest_fraction_reducer_keeps_the_largest_terms_and_is_gradient_checked()
    {
        var terms = new[] { 0.1, 0.9, 0.4, 0.7, 0.0, 0.2 };
        var kinds = Enumerable.Repeat(TermKind.NegativePair, terms.Length).ToArray();
        var w = new double[terms.Length];
        double loss = new HardestFractionReducer(0.5).Reduce(terms, kinds, w);
        loss.Should().BeApproximately((0.9 + 0.4 + 0.7) / 3, 1e-15);
        w.Should().Equal(0, 1.0 / 3, 1.0 / 3, 1.0 / 3, 0, 0);
        GradientCheck.Reducer(new HardestFractionReducer(0.5), terms, kinds).Passed.Should().BeTrue();
        var bad = GradientCheck.Reducer(new SmoothWeights(), terms, kinds);
        bad.Passed.Should().BeFalse();
        bad.Description.Should().Contain("SmoothWeights");

        // Through an objective: the mean over the hardest half of the pair terms, with the exact gradient.
        var r = Random(43, 10, 4, classes: 2);
        var objective = new ContrastiveLoss(new ContrastiveOptions { UseProvidedPairs = false, Margin = 0.9f }, null, new HardestFractionReducer(0.5));
        GradientCheck.Objective(objective, F(r.E), r.B, r.D, new BatchMetadata { Labels = r.Labels! }).EnsurePassed();
        var res = Run(objective, r, false, false).R;
        var all = Run(new ContrastiveLoss(new ContrastiveOptions { UseProvidedPairs = false, Margin = 0.9f, Reduction = Reduction.Sum }), r, false, false).R;
        res.Loss.Should().BeGreaterThan(all.Loss / res.Mining.Pairs, "the hardest half averages above the mean");
    }

    [Fact]
    public void The_built_in_reductions_are_shared_count_reducer_instances_with_the_documented_factors()
    {
        var c = new TermCounts(Count: 10, Active: 4, Positives: 3, PositiveActive: 1);
        ReducerBase.For(Reduction.Mean).Scales(c).Should().Be((0.1, 0.1));
        ReducerBase.For(Reduction.Sum).Scales(c).Should().Be((1.0, 1.0));
        ReducerBase.For(Reduction.MeanOverActive).Scales(c).Should().Be((0.25, 0.25));
        ReducerBase.For(Reduction.PositiveNegativeMeansOverActive).Scales(c).Should().Be((1.0, 1.0 / 3));
        ReducerBase.For(Reduction.PositiveNegativeMeansOverActive).Uniform.Should().BeFalse();
        ReducerBase.For(Reduction.MeanOverActive).Scales(new TermCounts(5, 0, 0, 0)).Should().Be((0.0, 0.0));
        new ContrastiveLoss().Reducer.Should().BeSameAs(MeanReducer.Instance);
        Assert.Throws<ArgumentOutOfRangeException>(() => ReducerBase.For((Reduction)42));
    }
}
