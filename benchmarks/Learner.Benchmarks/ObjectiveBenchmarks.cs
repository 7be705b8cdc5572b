using BenchmarkDotNet.Attributes;
using Learner.Nn;
using Learner.Objectives;
using Learner.Objectives.Options;

namespace Learner.Benchmarks;

/// <summary>Each objective's fused forward+backward on a B×128 embedding batch (gradient written into a reused buffer).</summary>
[MemoryDiagnoser]
public class ObjectiveBenchmarks
{
    /// <summary>The objective.</summary>
    [Params("infonce", "supcon", "triplet-batch-hard", "weighted-contrastive", "rnc", "y-aware", "mse")]
    public string Objective { get; set; } = "infonce";

    /// <summary>Batch size.</summary>
    [Params(256, 1024, 4096)]
    public int B { get; set; } = 1024;

    private const int D = 128;
    private float[] _e = Array.Empty<float>(), _v = Array.Empty<float>(), _scores = Array.Empty<float>();
    private float[] _ge = Array.Empty<float>(), _gv = Array.Empty<float>();
    private int[] _patients = Array.Empty<int>(), _labels = Array.Empty<int>();
    private IObjective _objective = null!;

    /// <summary>Creates the batch and the objective.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var rng = new Rng(7);
        _e = new float[B * D]; _v = new float[B * D]; _ge = new float[B * D]; _gv = new float[B * D];
        rng.FillNormal(_e, 0, 1); rng.FillNormal(_v, 0, 1);
        _scores = new float[B]; _patients = new int[B]; _labels = new int[B];
        for (int i = 0; i < B; i++) { _scores[i] = 100 + 400 * rng.NextSingle(); _patients[i] = i / 4; _labels[i] = (int)((_scores[i] - 100) / 100); }
        _objective = Objective switch
        {
            "infonce" => new InfoNceLoss(),
            "supcon" => new SupConLoss(),
            "triplet-batch-hard" => new TripletLoss(new TripletOptions { Selection = TripletSelection.BatchHard }),
            "weighted-contrastive" => new WeightedContrastiveLoss(new WeightedContrastiveOptions { UseProvidedPairs = false, PositiveThreshold = 20f, GapScale = 100f }),
            "rnc" => new RankNContrastLoss(),
            "y-aware" => new YAwareInfoNceLoss(new YAwareOptions { Sigma = 50f }),
            _ => new MseScoreRegression(new MseOptions { EmbeddingDimension = D, ScoreOffset = 300f, ScoreScale = 100f, InitSeed = 1 }),
        };
    }

    /// <summary>Loss and embedding gradient.</summary>
    [Benchmark]
    public double ForwardBackward()
    {
        var batch = new EmbeddingBatch(_e, B, D) { SecondView = Objective == "infonce" ? _v : default, Scores = _scores, PatientIds = _patients, Labels = _labels };
        return _objective.Compute(batch, _ge, Objective == "infonce" ? _gv : Span<float>.Empty).Loss;
    }
}
