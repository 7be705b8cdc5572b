using Learner.Examples.Extensions;
using Learner.Objectives;
using Learner.Objectives.Options;
using Learner.Objectives.Reducers;
using static Learner.Tests.Objectives.ObjectiveHarness;

namespace Learner.Tests.Objectives.Extensions;

/// <summary>What a passed reducer may be combined with, the reducer spans' checks, and the memory of the term path.</summary>
public class ReducerContractTests
{
    public static TheoryData<string> Objectives() => new() { "contrastive", "weighted-contrastive", "triplet", "pair-penalty" };

    private static IObjective Build(string objective, Reduction reduction, ReducerBase reducer) => objective switch
    {
        "contrastive" => new ContrastiveLoss(new ContrastiveOptions { Reduction = reduction }, null, reducer),
        "weighted-contrastive" => new WeightedContrastiveLoss(new WeightedContrastiveOptions { Reduction = reduction }, null, reducer),
        "triplet" => new TripletLoss(new TripletOptions { Reduction = reduction, Selection = TripletSelection.BatchHard }, null, reducer),
        "pair-penalty" => new PairPenaltyLoss("pair-penalty", new SoftMarginPenalty(), new PairPenaltyOptions { Reduction = reduction }, null, reducer),
        _ => throw new ArgumentException(objective, nameof(objective)),
    };

    private static ReducerBase ReducerOf(IObjective o) => o switch
    {
        ContrastiveLoss c => c.Reducer,
        WeightedContrastiveLoss w => w.Reducer,
        TripletLoss t => t.Reducer,
        PairPenaltyLoss p => p.Reducer,
        _ => throw new ArgumentException(o.Name),
    };

    [Theory]
    [MemberData(nameof(Objectives))]
    public void A_passed_reducer_refuses_a_non_default_reduction_it_would_ignore(string objective)
    {
        var custom = new HardestFractionReducer();
        ReducerOf(Build(objective, Reduction.Mean, custom)).Should().BeSameAs(custom, "Mean is every options type's default");
        ReducerOf(Build(objective, Reduction.Sum, SumReducer.Instance)).Should().BeSameAs(SumReducer.Instance, "the reducer the reduction names");
        var ex = Assert.Throws<ArgumentException>(() => Build(objective, Reduction.Sum, custom));
        ex.Message.Should().Contain("Options.Reduction is Sum").And.Contain("HardestFractionReducer");
        ex.ParamName.Should().Be("reducer");
        Assert.Throws<ArgumentException>(() => Build(objective, Reduction.MeanOverActive, MeanReducer.Instance)).Message.Should().Contain("MeanOverActive");
    }

    [Fact]
    public void A_spec_overriding_the_reduction_of_an_objective_with_its_own_reducer_is_reported()
    {
        var registry = ObjectiveRegistry.CreateDefault();
        registry.Register<ContrastiveOptions>("my-contrastive", o => new ContrastiveLoss(o, null, new HardestFractionReducer()));
        ObjectiveRecipes.Default.Build(ObjectiveSpec.Parse("my-contrastive(margin=0.3)"), ObjectiveContext.ForValidation(4), registry)
            .Should().BeOfType<ContrastiveLoss>();
        var bad = Assert.Throws<ObjectiveSpecException>(() =>
            ObjectiveRecipes.Default.Build(ObjectiveSpec.Parse("mse+my-contrastive(reduction=sum)"), ObjectiveContext.ForValidation(4), registry));
        bad.Message.Should().Contain("my-contrastive").And.Contain("ContrastiveOptions.Reduction is Sum");
        bad.InnerException.Should().BeOfType<ArgumentException>();
    }

    [Fact]
    public void Count_and_the_count_reducers_weights_refuse_spans_of_different_lengths()
    {
        var terms = new[] { 0.5, 0.0, 1.5 };
        var kinds = new[] { TermKind.PositivePair, TermKind.NegativePair };
        var count = Assert.Throws<ArgumentException>(() => ReducerBase.Count(terms, kinds));
        count.Message.Should().Contain("3 terms and 2 kinds");
        Assert.Throws<ArgumentException>(() => ReducerBase.Count(terms, new TermKind[4])).Message.Should().Contain("3 terms and 4 kinds");
        var weights = Assert.Throws<ArgumentException>(() => MeanReducer.Instance.Weights(terms, new TermKind[3], new double[2]));
        weights.Message.Should().Contain("MeanReducer").And.Contain("3 terms, 3 kinds and 2 weights");
        Assert.Throws<ArgumentException>(() => PositiveNegativeMeansReducer.Instance.Weights(terms, kinds, new double[3])).Message.Should().Contain("2 kinds");
        var counts = ReducerBase.Count(terms, [TermKind.PositivePair, TermKind.NegativePair, TermKind.NegativePair]);
        (counts.Count, counts.Active, counts.Positives, counts.PositiveActive).Should().Be((3L, 2L, 1L, 1L));
    }

    /// <summary>A term reducer that allocates nothing itself (the mean, weighed from the whole term vector).</summary>
    private sealed class TermMean : ReducerBase
    {
        public override void Weights(ReadOnlySpan<double> terms, ReadOnlySpan<TermKind> kinds, Span<double> weights) => weights.Fill(1.0 / terms.Length);
    }

    /// <summary>A term reducer on all pairs stores each unordered pair once: about 34 bytes per pair (the triangle's
    /// term, kind and weight, and the reducer's compact term, kind and weight), where full B×B buffers took 51.</summary>
    [Fact]
    public void A_term_reducer_on_all_pairs_stores_each_pair_once()
    {
        const int b = 512;
        var r = Random(44, b, 4, classes: 5);
        var e = F(r.E); var g = new float[e.Length];
        var batch = new EmbeddingBatch(e, b, r.D) { Labels = r.Labels! };
        var options = new ContrastiveOptions { UseProvidedPairs = false, Margin = 0.9f };
        // What a first call allocates beyond the count path's buffers (distance tiles, per-row sums) is the term storage.
        var (counted, countBytes) = FirstCall(new ContrastiveLoss(options, null, MeanReducer.Instance), batch, g);
        var (termwise, termBytes) = FirstCall(new ContrastiveLoss(options, null, new TermMean()), batch, g);
        long pairs = (long)b * (b - 1) / 2;
        termwise.Mining.Pairs.Should().Be(pairs);
        termwise.Loss.Should().BeApproximately(counted.Loss, 1e-9 * counted.Loss);
        (termBytes - countBytes).Should().BeLessThan(40 * pairs, $"{termBytes} against {countBytes} bytes for {pairs} pairs");

        static (ObjectiveResult, long) FirstCall(IObjective objective, in EmbeddingBatch batch, float[] g)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            var result = objective.Compute(batch, g);
            return (result, GC.GetAllocatedBytesForCurrentThread() - before);
        }
    }
}
