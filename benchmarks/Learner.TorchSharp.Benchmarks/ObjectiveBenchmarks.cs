using BenchmarkDotNet.Attributes;
using Learner.Nn;
using Learner.Objectives;
using Learner.Objectives.Options;
using Learner.TorchSharp.Objectives;
using static TorchSharp.torch;

namespace Learner.TorchSharp.Benchmarks;

/// <summary>
/// One objective's value and embedding gradient on a B×D batch (B = 256, D = 128; 64 patients × 4 scans, 8 coarse
/// classes, scores in [0, 10)) through <see cref="IObjective.Compute(in EmbeddingBatch, Span{float}, Span{float})"/>: the
/// managed objective against the device objective on the TorchSharp CPU (and CUDA when present), host copies included.
/// </summary>
public class ObjectiveBenchmarks
{
    private const int B = 256, D = 128;
    private IObjective _objective = null!;
    private float[] _embeddings = Array.Empty<float>(), _gradient = Array.Empty<float>(), _scores = Array.Empty<float>();
    private int[] _patients = Array.Empty<int>(), _labels = Array.Empty<int>();

    /// <summary>The objectives measured.</summary>
    [Params("weighted-contrastive", "supcon", "triplet-batch-hard", "triplet-semi-hard", "rnc", "y-aware")]
    public string Objective { get; set; } = "weighted-contrastive";

    /// <summary>The backends present on this machine.</summary>
    public static IEnumerable<string> Backends() => StepWorkload.Backends();

    /// <summary>The backend measured.</summary>
    [ParamsSource(nameof(Backends))]
    public string Backend { get; set; } = "managed";

    /// <summary>Builds the objective and the batch.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var (name, options) = Objective switch
        {
            "triplet-batch-hard" => ("triplet", (ObjectiveOptions?)new TripletOptions { Selection = TripletSelection.BatchHard }),
            "triplet-semi-hard" => ("triplet", new TripletOptions { Selection = TripletSelection.SemiHard }),
            _ => (Objective, null),
        };
        _objective = Backend switch
        {
            "managed" => ObjectiveRegistry.CreateDefault().Create(name, options),
            "torchsharp-cpu" => TorchSharpObjectives.Create(name, options, CPU),
            _ => TorchSharpObjectives.Create(name, options, CUDA),
        };
        var rng = new Rng(3);
        _embeddings = new float[B * D];
        for (int i = 0; i < _embeddings.Length; i++) _embeddings[i] = (float)rng.NextGaussian();
        _gradient = new float[B * D];
        _scores = Enumerable.Range(0, B).Select(_ => (float)(rng.NextDouble() * 10)).ToArray();
        _patients = Enumerable.Range(0, B).Select(i => i / 4).ToArray();
        _labels = Enumerable.Range(0, B).Select(i => (i / 4) % 8).ToArray();
    }

    /// <summary>Releases native memory.</summary>
    [GlobalCleanup]
    public void Cleanup() => (_objective as IDisposable)?.Dispose();

    /// <summary>Value and gradient.</summary>
    /// <returns>The loss.</returns>
    [Benchmark]
    public double Compute() => _objective.Compute(new EmbeddingBatch(_embeddings, B, D) { Scores = _scores, PatientIds = _patients, Labels = _labels }, _gradient).Loss;
}
