using System.Text.Json;
using Learner.Objectives;
using Learner.Objectives.Distances;
using Learner.Objectives.Options;

namespace Learner.Tests.Objectives;

/// <summary>Values and gradients against PyTorch (float64, autograd) for several seeds and shapes, from the committed
/// fixtures of Fixtures/generate_objective_fixtures.py.</summary>
public class PyTorchFixtureTests
{
    const string FileName = "objective_fixtures.json";

    sealed record Case(string Name, int B, int D, Dictionary<string, double[]> Tensors);

    static readonly Lazy<List<Case>> Cases = new(Load);

    static string Locate() => ObjectiveFixtures.Locate(FileName);

    static List<Case> Load()
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Locate()));
        var list = new List<Case>();
        foreach (var c in doc.RootElement.GetProperty("cases").EnumerateArray())
        {
            var t = new Dictionary<string, double[]>();
            foreach (var p in c.GetProperty("tensors").EnumerateObject())
                t[p.Name] = p.Value.GetProperty("data").EnumerateArray().Select(e => e.GetDouble()).ToArray();
            var prm = c.GetProperty("params");
            list.Add(new Case(c.GetProperty("name").GetString()!, prm.GetProperty("B").GetInt32(), prm.GetProperty("D").GetInt32(), t));
        }
        return list;
    }

    static IObjective Create(string config, int d) => config switch
    {
        "mse" => new MseScoreRegression(new MseOptions { EmbeddingDimension = d, ScoreOffset = 1.5f, ScoreScale = 0.8f }),
        "mse-within" => new MseScoreRegression(new MseOptions { EmbeddingDimension = d, ScoreOffset = 1.5f, ScoreScale = 0.8f, WithinPatientWeight = 2.5 }),
        "contrastive-cosine" => new ContrastiveLoss(new ContrastiveOptions { Margin = 0.9f }),
        "contrastive-euclidean" => new ContrastiveLoss(new ContrastiveOptions { Distance = DistanceKind.Euclidean, Margin = 3f }),
        "weighted-linear" => new WeightedContrastiveLoss(new WeightedContrastiveOptions { Margin = 0.9f, PositiveThreshold = 0.3f }),
        "weighted-sqrt-margin" => new WeightedContrastiveLoss(new WeightedContrastiveOptions
        {
            Distance = DistanceKind.Euclidean, Margin = 2.5f, PositiveThreshold = 0.2f, GapFunction = ScoreGapFunction.Sqrt, GapScale = 2f,
            MarginByGap = true, MarginSlope = 0.4f,
        }),
        "weighted-exp-margin-only" => new WeightedContrastiveLoss(new WeightedContrastiveOptions
        {
            Margin = 0.3f, GapFunction = ScoreGapFunction.Exp, GapScale = 2f, WeightByGap = false, MarginByGap = true, MarginSlope = 0.5f,
        }),
        "triplet-hard-euclidean" => new TripletLoss(new TripletOptions { Margin = 0.5f }),
        "triplet-all-cosine-softplus" => new TripletLoss(new TripletOptions { Selection = TripletSelection.BatchAll, Distance = DistanceKind.Cosine, Margin = 0.2f, Penalty = TripletPenalty.SoftPlus }),
        "triplet-all-euclidean" => new TripletLoss(new TripletOptions { Selection = TripletSelection.BatchAll, Margin = 0.5f }),
        "triplet-semihard-euclidean" => new TripletLoss(new TripletOptions { Selection = TripletSelection.SemiHard, Margin = 0.5f }),
        "infonce-cross" => new InfoNceLoss(new InfoNceOptions { Temperature = 0.1f }),
        "infonce-symmetric" => new InfoNceLoss(new InfoNceOptions { Temperature = 0.2f, Variant = InfoNceVariant.Symmetric }),
        "ntxent" => new InfoNceLoss(new InfoNceOptions { Temperature = 0.1f, Variant = InfoNceVariant.NtXent }),
        "supcon" => new SupConLoss(new SupConOptions { Temperature = 0.1f }),
        "y-aware" => new YAwareInfoNceLoss(new YAwareOptions { Temperature = 0.1f, Sigma = 0.5f }),
        "rnc" => new RankNContrastLoss(new RankNContrastOptions { Temperature = 2f }),
        _ => throw new ArgumentException(config),
    };

    public static TheoryData<string> Configs() => new()
    {
        "mse", "mse-within", "contrastive-cosine", "contrastive-euclidean", "weighted-linear", "weighted-sqrt-margin", "weighted-exp-margin-only",
        "triplet-hard-euclidean", "triplet-all-cosine-softplus", "triplet-all-euclidean", "triplet-semihard-euclidean",
        "infonce-cross", "infonce-symmetric", "ntxent", "supcon", "y-aware", "rnc",
    };

    [Theory]
    [MemberData(nameof(Configs))]
    public void Matches_pytorch(string config)
    {
        Cases.Value.Should().HaveCountGreaterThanOrEqualTo(3);
        foreach (var c in Cases.Value)
        {
            var t = c.Tensors;
            float[] Fl(string k) => t[k].Select(v => (float)v).ToArray();
            var e = Fl("embeddings"); var v = Fl("second_view"); var s = Fl("scores");
            var labels = t["labels"].Select(x => (int)x).ToArray();
            var patients = t["patients"].Select(x => (int)x).ToArray();
            var objective = Create(config, c.D);
            if (objective is MseScoreRegression mse)
            {
                Fl("head_w").CopyTo(mse.HeadWeight.Data);
                mse.HeadBias.Data[0] = (float)t["head_b"][0];
            }
            var ge = new float[e.Length]; var gv = new float[v.Length];
            var batch = new EmbeddingBatch(e, c.B, c.D) { SecondView = v, Scores = s, Labels = labels, PatientIds = patients };
            var result = objective.Compute(batch, ge, gv);
            double expected = t["loss/" + config][0];
            string what = $"{config} {c.Name}";
            Math.Abs(result.Loss - expected).Should().BeLessThanOrEqualTo(1e-5 * Math.Abs(expected) + 1e-7, $"{what}: loss {result.Loss} vs torch {expected}");
            Compare(ge, t["grad/" + config], what + " grad");
            Compare(gv, t["gradv/" + config], what + " grad second view");
        }
    }

    static void Compare(float[] actual, double[] expected, string what)
    {
        // 1e-5 relative per element, with an absolute floor of 1e-5 of the tensor's largest gradient for tiny entries.
        double floor = 1e-5 * expected.Max(Math.Abs) + 1e-9;
        for (int i = 0; i < actual.Length; i++)
        {
            double diff = Math.Abs(actual[i] - expected[i]);
            if (!(diff <= 1e-5 * Math.Abs(expected[i]) + floor))
                throw new Xunit.Sdk.XunitException($"{what}: [{i}] {actual[i]:G9} vs torch {expected[i]:G9} (|diff| {diff:G3}).");
        }
    }
}
