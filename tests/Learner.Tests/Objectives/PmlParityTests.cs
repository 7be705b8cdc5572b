using System.Text.Json;
using Learner.Objectives;
using Learner.Objectives.Distances;
using Learner.Objectives.Miners;
using Learner.Objectives.Options;
using Learner.Objectives.Reducers;

namespace Learner.Tests.Objectives;

/// <summary>pytorch-metric-learning parity: each PML loss that has a Learner equivalent, against the values and
/// gradients PML's own source computed in float64 (Fixtures/pml_fixtures.json, written by scripts/pml-reference.py),
/// held to 1e-5 relative.</summary>
public class PmlParityTests
{
    const string FileName = "pml_fixtures.json";

    sealed record Expected(double Loss, double[] Grad, double[]? GradSecondView);

    sealed record Case(string Name, int B, int D, int[] Labels, float[] Embeddings, float[] SecondView, Dictionary<string, Expected> Losses);

    static readonly Lazy<List<Case>> Cases = new(Load);

    static string Locate() => ObjectiveFixtures.Locate(FileName);

    static double[] Doubles(JsonElement e) => e.EnumerateArray().Select(x => x.GetDouble()).ToArray();

    static List<Case> Load()
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Locate()));
        doc.RootElement.GetProperty("pytorch_metric_learning").GetString().Should().Be("2.8.1");
        var list = new List<Case>();
        foreach (var c in doc.RootElement.GetProperty("cases").EnumerateArray())
        {
            var losses = new Dictionary<string, Expected>();
            foreach (var l in c.GetProperty("losses").EnumerateObject())
                losses[l.Name] = new Expected(l.Value.GetProperty("loss").GetDouble(), Doubles(l.Value.GetProperty("grad")),
                    l.Value.TryGetProperty("grad_second_view", out var gv) ? Doubles(gv) : null);
            list.Add(new Case(c.GetProperty("name").GetString()!, c.GetProperty("B").GetInt32(), c.GetProperty("D").GetInt32(),
                c.GetProperty("labels").EnumerateArray().Select(x => x.GetInt32()).ToArray(),
                Doubles(c.GetProperty("embeddings")).Select(x => (float)x).ToArray(),
                Doubles(c.GetProperty("second_view")).Select(x => (float)x).ToArray(), losses));
        }
        return list;
    }

    /// <summary>The Learner objective for each PML configuration of the script, and whether the batch is two views with
    /// each scan its own class (the SimCLR form of PML's SelfSupervisedLoss).</summary>
    static (IObjective Objective, bool Views) Create(string config) => config switch
    {
        "supcon" => (new SupConLoss(new SupConOptions { Temperature = 0.1f }), false),
        "supcon-t0.5" => (new SupConLoss(new SupConOptions { Temperature = 0.5f }), false),
        "triplet-default" => (new TripletLoss(TripletOptions.PytorchMetricLearning), false),
        "triplet-all-m0.2" => (new TripletLoss(TripletOptions.PytorchMetricLearning with { Margin = 0.2f }), false),
        "triplet-batchhard-m0.2" => (new TripletLoss(TripletOptions.PytorchMetricLearning with { Margin = 0.2f, Selection = TripletSelection.BatchHard }), false),
        "triplet-smooth-m0.2" => (new TripletLoss(TripletOptions.PytorchMetricLearning with { Margin = 0.2f, Penalty = TripletPenalty.SoftPlus }), false),
        "triplet-all-raw-m0.5" => (new TripletLoss(TripletOptions.PytorchMetricLearning with { Margin = 0.5f, Distance = DistanceKind.Euclidean }), false),
        "ntxent" => (new NtXentLoss(), false),
        "ntxent-t0.5" => (new NtXentLoss(new NtXentOptions { Temperature = 0.5f }), false),
        "ntxent-views" => (new NtXentLoss(new NtXentOptions { Temperature = 0.1f }), true),
        "contrastive" => (new ContrastiveLoss(ContrastiveOptions.PytorchMetricLearning), false),
        "contrastive-margins" => (new ContrastiveLoss(ContrastiveOptions.PytorchMetricLearning with { PositiveMargin = 0.2f, Margin = 0.9f }), false),
        "contrastive-raw" => (new ContrastiveLoss(ContrastiveOptions.PytorchMetricLearning with { PositiveMargin = 0.5f, Margin = 3f, Distance = DistanceKind.Euclidean }), false),
        "contrastive-pairmargin" => (new MinedObjective(new PairMarginMiner(0.2f, 0.8f), new ContrastiveLoss(ContrastiveOptions.PytorchMetricLearning with { UseProvidedPairs = true })), false),
        "triplet-all-squared-m0.5" => (new TripletLoss(TripletOptions.PytorchMetricLearning with { Margin = 0.5f, Distance = DistanceKind.SquaredEuclidean }), false),
        "contrastive-squared" => (new ContrastiveLoss(ContrastiveOptions.PytorchMetricLearning with { PositiveMargin = 0.5f, Margin = 6f, Distance = DistanceKind.SquaredEuclidean }), false),
        "supcon-dot" => (new SupConLoss(new SupConOptions { Temperature = 0.5f, Similarity = SimilarityKind.Dot }), false),
        "supcon-dot-normalized" => (new SupConLoss(new SupConOptions { Temperature = 0.5f, Similarity = SimilarityKind.Cosine }), false),
        "ntxent-dot" => (new NtXentLoss(new NtXentOptions { Temperature = 0.5f, Similarity = SimilarityKind.Dot }), false),
        // A reducer passed as reducer= replaces the options' reduction, which is then left at its default (Mean).
        "triplet-all-mean-m0.2" => (new TripletLoss(TripletOptions.PytorchMetricLearning with { Margin = 0.2f, Reduction = Reduction.Mean }, null, MeanReducer.Instance), false),
        "triplet-all-sum-m0.2" => (new TripletLoss(TripletOptions.PytorchMetricLearning with { Margin = 0.2f, Reduction = Reduction.Mean }, null, SumReducer.Instance), false),
        "contrastive-mean" => (new ContrastiveLoss(ContrastiveOptions.PytorchMetricLearning with { Reduction = Reduction.Mean }, null, new PartMeans()), false),
        "contrastive-sum" => (new ContrastiveLoss(ContrastiveOptions.PytorchMetricLearning with { Reduction = Reduction.Mean }, null, new OrderedPairSum()), false),
        _ => throw new ArgumentException($"No Learner mapping for the PML config '{config}'.", nameof(config)),
    };

    static readonly string[] Mapped =
    {
        "supcon", "supcon-t0.5", "triplet-default", "triplet-all-m0.2", "triplet-batchhard-m0.2", "triplet-smooth-m0.2", "triplet-all-raw-m0.5",
        "ntxent", "ntxent-t0.5", "ntxent-views", "contrastive", "contrastive-margins", "contrastive-raw", "contrastive-pairmargin",
        "triplet-all-squared-m0.5", "contrastive-squared", "supcon-dot", "supcon-dot-normalized", "ntxent-dot",
        "triplet-all-mean-m0.2", "triplet-all-sum-m0.2", "contrastive-mean", "contrastive-sum",
    };

    /// <summary>PML's <c>MeanReducer</c> on a pair loss: it reduces the positive and the negative sub-loss separately
    /// (each mean over all its pairs, zeros included) and adds them — not Learner's pooled <see cref="Reduction.Mean"/>.</summary>
    sealed class PartMeans : CountReducer
    {
        public override (double Positive, double Other) Scales(in TermCounts counts)
            => (Reciprocal(counts.Positives), Reciprocal(counts.Count - counts.Positives));
    }

    /// <summary>PML's <c>SumReducer</c> on a pair loss: PML lists every unordered pair in both orders, so its sum is
    /// twice Learner's <see cref="Reduction.Sum"/> over the pairs i &lt; j.</summary>
    sealed class OrderedPairSum : CountReducer
    {
        public override bool Uniform => true;

        public override (double Positive, double Other) Scales(in TermCounts counts) => (2.0, 2.0);
    }

    public static TheoryData<string> Configs() => new(Mapped);

    [Fact]
    public void Every_config_of_the_fixture_is_mapped()
    {
        var inFixture = Cases.Value.SelectMany(c => c.Losses.Keys).Distinct().Order().ToArray();
        inFixture.Should().BeEquivalentTo(Mapped);
        Cases.Value.Should().HaveCountGreaterThanOrEqualTo(5);
    }

    [Theory]
    [MemberData(nameof(Configs))]
    public void Matches_pytorch_metric_learning(string config)
    {
        foreach (var c in Cases.Value)
        {
            var expected = c.Losses[config];
            var (objective, views) = Create(config);
            var ge = new float[c.Embeddings.Length];
            var gv = new float[c.SecondView.Length];
            var batch = views
                ? new EmbeddingBatch(c.Embeddings, c.B, c.D) { SecondView = c.SecondView, Labels = Enumerable.Range(0, c.B).ToArray() }
                : new EmbeddingBatch(c.Embeddings, c.B, c.D) { Labels = c.Labels };
            var result = objective.Compute(batch, ge, views ? gv : Span<float>.Empty);
            string what = $"{config} {c.Name}";
            Math.Abs(result.Loss - expected.Loss).Should().BeLessThanOrEqualTo(1e-5 * Math.Abs(expected.Loss) + 1e-7,
                $"{what}: loss {result.Loss} vs PML {expected.Loss}");
            Compare(ge, expected.Grad, what + " grad");
            if (views) Compare(gv, expected.GradSecondView!, what + " grad second view");
        }
    }

    [Fact]
    public void Infonce_ntxent_variant_is_pml_self_supervised_ntxent()
    {
        // SelfSupervisedLoss(NTXentLoss(τ)) (symmetric): rows [u; v], each scan its own class — SimCLR's NT-Xent.
        foreach (var c in Cases.Value)
        {
            var expected = c.Losses["ntxent-views"];
            var ge = new float[c.Embeddings.Length]; var gv = new float[c.SecondView.Length];
            var r = new InfoNceLoss(new InfoNceOptions { Variant = InfoNceVariant.NtXent, Temperature = 0.1f })
                .Compute(new EmbeddingBatch(c.Embeddings, c.B, c.D) { SecondView = c.SecondView }, ge, gv);
            Math.Abs(r.Loss - expected.Loss).Should().BeLessThanOrEqualTo(1e-5 * Math.Abs(expected.Loss) + 1e-7, c.Name);
            Compare(ge, expected.Grad, $"infonce nt-xent {c.Name} grad");
            Compare(gv, expected.GradSecondView!, $"infonce nt-xent {c.Name} grad second view");
        }
    }

    static void Compare(float[] actual, double[] expected, string what)
    {
        actual.Length.Should().Be(expected.Length, what);
        // 1e-5 relative per element, with an absolute floor of 1e-5 of the tensor's largest gradient for tiny entries.
        double floor = 1e-5 * expected.Max(Math.Abs) + 1e-9;
        for (int i = 0; i < actual.Length; i++)
        {
            double diff = Math.Abs(actual[i] - expected[i]);
            if (!(diff <= 1e-5 * Math.Abs(expected[i]) + floor))
                throw new Xunit.Sdk.XunitException($"{what}: [{i}] {actual[i]:G9} vs PML {expected[i]:G9} (|diff| {diff:G3}).");
        }
    }
}
