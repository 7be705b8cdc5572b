using Learner.Examples.Extensions;
using Learner.Objectives;
using Learner.Objectives.Distances;
using Learner.Objectives.Miners;
using Learner.Objectives.Options;
using Learner.Objectives.Reducers;
using static Learner.Tests.Objectives.ObjectiveHarness;

namespace Learner.Tests.Objectives.Extensions;

/// <summary>The public extension points: a user-written distance, miner and penalty plug into the built-in objectives,
/// reproduce the fused built-ins where they express the same rule, and are checked by <see cref="GradientCheck"/>.</summary>
public class ExtensionPointTests
{
    /// <summary>The Euclidean distance written as a user would, through <see cref="CustomDistance"/>.</summary>
    sealed class PlainEuclidean : CustomDistance
    {
        protected override double Distance(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
        {
            double s = 0;
            for (int k = 0; k < a.Length; k++) { double t = a[k] - b[k]; s += t * t; }
            return Math.Sqrt(s + 1e-12);
        }

        protected override void Gradient(ReadOnlySpan<float> a, ReadOnlySpan<float> b, double distance, Span<double> gradA, Span<double> gradB)
        {
            for (int k = 0; k < a.Length; k++) { gradA[k] = (a[k] - b[k]) / distance; gradB[k] = -gradA[k]; }
        }
    }

    /// <summary>A distance whose gradient has the wrong sign: the check must catch it.</summary>
    sealed class WrongSign : CustomDistance
    {
        protected override double Distance(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
        {
            double s = 0;
            for (int k = 0; k < a.Length; k++) { double t = a[k] - b[k]; s += t * t; }
            return s;
        }

        protected override void Gradient(ReadOnlySpan<float> a, ReadOnlySpan<float> b, double distance, Span<double> gradA, Span<double> gradB)
        {
            for (int k = 0; k < a.Length; k++) { gradA[k] = -2 * (a[k] - b[k]); gradB[k] = -gradA[k]; }
        }
    }

    /// <summary>Hadsell's contrastive penalty, written as a user would.</summary>
    sealed class Hadsell(double margin) : PairPenalty
    {
        public override double Evaluate(double distance, bool positive, out double gradient)
        {
            if (positive) { gradient = 2 * distance; return distance * distance; }
            double h = margin - distance;
            if (h <= 0) { gradient = 0; return 0; }
            gradient = -2 * h;
            return h * h;
        }
    }

    static (float[] E, int B, int D, int[] Labels) Data(int seed, int b = 12, int d = 6)
    {
        var r = Random(seed, b, d, classes: 3);
        return (F(r.E), b, d, r.Labels!);
    }

    static (ObjectiveResult R, float[] G) Run(IObjective o, float[] e, int b, int d, int[] labels, IndexPair[]? pairs = null)
    {
        var g = new float[e.Length];
        var r = o.Compute(new EmbeddingBatch(e, b, d) { Labels = labels, Pairs = pairs ?? default(ReadOnlySpan<IndexPair>) }, g);
        return (r, g);
    }

    static void Same((ObjectiveResult R, float[] G) a, (ObjectiveResult R, float[] G) b, string what)
    {
        a.R.Loss.Should().BeApproximately(b.R.Loss, 1e-5 * Math.Abs(b.R.Loss) + 1e-7, what);
        double max = b.G.Max(Math.Abs);
        for (int k = 0; k < a.G.Length; k++) a.G[k].Should().BeApproximately(b.G[k], (float)(1e-4 * max + 1e-7), $"{what} grad[{k}]");
    }

    [Theory]
    [InlineData(DistanceKind.Cosine)]
    [InlineData(DistanceKind.Euclidean)]
    [InlineData(DistanceKind.SquaredEuclidean)]
    [InlineData(DistanceKind.NormalizedEuclidean)]
    public void Built_in_distances_pass_the_public_gradient_check(DistanceKind kind)
    {
        var (e, b, d, _) = Data(1, 9, 5);
        var result = GradientCheck.Distance(PairDistance.Create(kind), e, b, d);
        result.Passed.Should().BeTrue(result.Description);
    }

    [Fact]
    public void The_gradient_check_catches_a_wrong_gradient()
    {
        var (e, b, d, labels) = Data(2, 8, 4);
        var result = GradientCheck.Distance(new WrongSign(), e, b, d);
        result.Passed.Should().BeFalse();
        result.Description.Should().Contain("WrongSign.AccumulatePair").And.Contain("FAILED");
        Assert.Throws<InvalidOperationException>(result.EnsurePassed);
        var objective = new ContrastiveLoss(new ContrastiveOptions { UseProvidedPairs = false }, new WrongSign());
        GradientCheck.Objective(objective, e, b, d, new BatchMetadata { Labels = labels }).Passed.Should().BeFalse();
        GradientCheck.Objective(new ContrastiveLoss(new ContrastiveOptions { UseProvidedPairs = false, Distance = DistanceKind.Euclidean, Margin = 3 }),
            e, b, d, new BatchMetadata { Labels = labels }).Passed.Should().BeTrue();
    }

    [Fact]
    public void A_user_written_distance_gives_the_built_in_objectives_the_built_in_values()
    {
        var (e, b, d, labels) = Data(3);
        var contrastive = new ContrastiveOptions { UseProvidedPairs = false, Distance = DistanceKind.Euclidean, Margin = 3f };
        Same(Run(new ContrastiveLoss(contrastive, new PlainEuclidean()), e, b, d, labels), Run(new ContrastiveLoss(contrastive), e, b, d, labels), "contrastive");
        foreach (var selection in new[] { TripletSelection.BatchAll, TripletSelection.BatchHard, TripletSelection.SemiHard })
        {
            var triplet = new TripletOptions { Selection = selection, Distance = DistanceKind.Euclidean, Margin = 0.5f };
            Same(Run(new TripletLoss(triplet, new PlainEuclidean()), e, b, d, labels), Run(new TripletLoss(triplet), e, b, d, labels), $"triplet {selection}");
        }
        GradientCheck.Distance(new PlainEuclidean(), e, b, d).EnsurePassed();
    }

    [Theory]
    [InlineData(DistanceKind.Euclidean, TripletSelection.BatchHard)]
    [InlineData(DistanceKind.NormalizedEuclidean, TripletSelection.BatchHard)]
    [InlineData(DistanceKind.Cosine, TripletSelection.SemiHard)]
    [InlineData(DistanceKind.Euclidean, TripletSelection.SemiHard)]
    public void Mined_triplets_fed_to_a_provided_triplet_loss_equal_the_fused_selection(DistanceKind distance, TripletSelection selection)
    {
        var (e, b, d, labels) = Data(4);
        var fused = new TripletOptions { Selection = selection, Distance = distance, Margin = 0.3f };
        TripletMiner miner = selection == TripletSelection.BatchHard ? new BatchHardTripletMiner(distance) : new SemiHardTripletMiner(distance);
        var mined = new MinedObjective(miner, new TripletLoss(fused with { Selection = TripletSelection.Provided }));
        mined.Requires.Should().Be(BatchFields.Labels);
        var a = Run(mined, e, b, d, labels);
        var f = Run(new TripletLoss(fused), e, b, d, labels);
        Same(a, f, $"{miner.GetType().Name} {distance}");
        a.R.Mining.Triplets.Should().Be(f.R.Mining.Triplets).And.BeGreaterThan(0);
    }

    [Fact]
    public void A_user_written_penalty_on_the_pair_engine_equals_the_contrastive_loss_and_reports_its_parts()
    {
        var (e, b, d, labels) = Data(5);
        foreach (var reduction in new[] { Reduction.Mean, Reduction.MeanOverActive, Reduction.PositiveNegativeMeansOverActive })
        {
            var penalty = new PairPenaltyLoss("hadsell", new Hadsell(0.8), new PairPenaltyOptions { UseProvidedPairs = false, Reduction = reduction });
            var reference = new ContrastiveLoss(new ContrastiveOptions { UseProvidedPairs = false, Margin = 0.8f, Reduction = reduction });
            var p = Run(penalty, e, b, d, labels);
            var c = Run(reference, e, b, d, labels);
            Same(p, c, $"penalty {reduction}");
            p.R.Parts.Count.Should().Be(2);
            p.R.Parts[0].Name.Should().Be("hadsell.positive");
            (p.R.Parts[0].Value + p.R.Parts[1].Value).Should().BeApproximately(p.R.Loss, 1e-9);
            p.R.Mining.Pairs.Should().Be(b * (b - 1) / 2);
        }
    }

    [Fact]
    public void The_pair_margin_miner_keeps_exactly_the_pairs_a_margin_would_penalise()
    {
        var (e, b, d, labels) = Data(6);
        var miner = new PairMarginMiner(0.3f, 0.9f);
        var pairs = new List<IndexPair>();
        miner.Mine(new EmbeddingBatch(e, b, d) { Labels = labels }, pairs);
        var distance = PairDistance.Create(DistanceKind.NormalizedEuclidean);
        distance.Prepare(e, b, d);
        var expected = new List<IndexPair>();
        for (int i = 0; i < b; i++)
            for (int j = i + 1; j < b; j++)
            {
                bool positive = labels[i] == labels[j];
                double dist = distance.Pair(i, j);
                if (positive ? dist > 0.3 : dist < 0.9) expected.Add(new IndexPair(i, j, positive));
            }
        pairs.Should().Equal(expected);
        pairs.Should().Contain(p => p.Positive).And.Contain(p => !p.Positive);
        // Fed to a contrastive loss on the sampler-pair path, the mined pairs give that loss on exactly those pairs.
        var mined = new MinedObjective(miner, new ContrastiveLoss(ContrastiveOptions.PytorchMetricLearning with { UseProvidedPairs = true }));
        Same(Run(mined, e, b, d, labels), Run(new ContrastiveLoss(ContrastiveOptions.PytorchMetricLearning with { UseProvidedPairs = true }), e, b, d, labels, expected.ToArray()), "mined contrastive");
    }

    [Fact]
    public void A_miner_must_feed_an_objective_that_reads_what_it_mines()
    {
        var ex = Assert.Throws<ArgumentException>(() => new MinedObjective(new BatchHardTripletMiner(), new TripletLoss()));
        ex.Message.Should().Contain("'triplet' does not read EmbeddingBatch.Triplets");
        Assert.Throws<ArgumentException>(() => new MinedObjective(new PairMarginMiner(), new ContrastiveLoss(new ContrastiveOptions { UseProvidedPairs = false })));
    }

    [Fact]
    public void A_batch_where_the_miner_finds_nothing_gives_zero()
    {
        var (e, b, d, _) = Data(7);
        var oneClass = new int[b];
        var mined = new MinedObjective(new BatchHardTripletMiner(), new TripletLoss(new TripletOptions { Selection = TripletSelection.Provided }));
        var g = Enumerable.Repeat(1f, e.Length).ToArray();
        var r = mined.Compute(new EmbeddingBatch(e, b, d) { Labels = oneClass }, g);
        r.Loss.Should().Be(0);
        g.Should().OnlyContain(v => v == 0);
    }

    [Fact]
    public void The_guide_example_runs_and_passes_its_own_checks()
    {
        var (e, b, d, labels) = Data(8, 10, 4);
        var r = ExtensionExample.Run(e, b, d, labels);
        double.IsFinite(r.Loss).Should().BeTrue();
        r.Loss.Should().BeGreaterThan(0);
        r.Mining.Pairs.Should().Be(b, "one nearest negative per row");
        r.Parts.Count.Should().Be(2);
    }

    [Fact]
    public void The_guide_shows_the_compiled_example_verbatim()
    {
        string root = AppContext.BaseDirectory;
        var dir = new DirectoryInfo(root);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Learner.sln"))) dir = dir.Parent;
        dir.Should().NotBeNull();
        var source = File.ReadAllText(Path.Combine(dir!.FullName, "tests", "Learner.Tests", "Objectives", "Extensions", "ExtensionExample.cs")).ReplaceLineEndings("\n");
        var guide = File.ReadAllText(Path.Combine(dir.FullName, "docs", "extending-objectives.md")).ReplaceLineEndings("\n");
        int start = guide.IndexOf("```csharp\n", StringComparison.Ordinal);
        start.Should().BeGreaterThan(0, "the guide has a C# block");
        int end = guide.IndexOf("\n```", start + 10, StringComparison.Ordinal);
        guide[(start + "```csharp\n".Length)..(end + 1)].Should().Be(source);
        guide.IndexOf("```csharp", end + 4, StringComparison.Ordinal).Should().Be(-1, "the guide's only C# block is the compiled example");
    }
}
