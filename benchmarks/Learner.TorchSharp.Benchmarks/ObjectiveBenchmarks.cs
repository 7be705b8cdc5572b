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
    private IObjective _objective = null!;
    private ObjectiveWorkload.Data _data = null!;

    /// <summary>The objectives measured.</summary>
    [ParamsSource(nameof(Objectives))]
    public string Objective { get; set; } = "weighted-contrastive";

    /// <summary>The objectives measured.</summary>
    public static IEnumerable<string> Objectives() => ObjectiveWorkload.Objectives;

    /// <summary>The backends present on this machine.</summary>
    public static IEnumerable<string> Backends() => StepWorkload.Backends();

    /// <summary>The backend measured.</summary>
    [ParamsSource(nameof(Backends))]
    public string Backend { get; set; } = "managed";

    /// <summary>Builds the objective and the batch.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _objective = ObjectiveWorkload.Create(Objective, Backend);
        _data = ObjectiveWorkload.Batch();
    }

    /// <summary>Releases native memory.</summary>
    [GlobalCleanup]
    public void Cleanup() => (_objective as IDisposable)?.Dispose();

    /// <summary>Value and gradient.</summary>
    /// <returns>The loss.</returns>
    [Benchmark]
    public double Compute() => ObjectiveWorkload.Compute(_objective, _data);
}

/// <summary>The objective call both the BenchmarkDotNet suite and the quick side-by-side mode time.</summary>
public static class ObjectiveWorkload
{
    /// <summary>Scans per batch.</summary>
    public const int B = 256;

    /// <summary>Embedding dimension.</summary>
    public const int D = 128;

    /// <summary>The objectives measured (the two triplet rows are the mined selections, Euclidean).</summary>
    public static IReadOnlyList<string> Objectives { get; } = new[] { "weighted-contrastive", "supcon", "triplet-batch-hard", "triplet-semi-hard", "rnc", "y-aware" };

    /// <summary>One batch's host data and the gradient buffer.</summary>
    public sealed class Data
    {
        /// <summary>B×D embeddings, their gradient, scores.</summary>
        public float[] Embeddings = Array.Empty<float>(), Gradient = Array.Empty<float>(), Scores = Array.Empty<float>();

        /// <summary>Patient ids and coarse labels.</summary>
        public int[] Patients = Array.Empty<int>(), Labels = Array.Empty<int>();
    }

    /// <summary>An objective on a backend.</summary>
    /// <param name="objective">One of <see cref="Objectives"/>.</param>
    /// <param name="backend">managed, torchsharp-cpu or torchsharp-cuda.</param>
    /// <returns>The objective (dispose a device one).</returns>
    public static IObjective Create(string objective, string backend)
    {
        var (name, options) = objective switch
        {
            "triplet-batch-hard" => ("triplet", (ObjectiveOptions?)new TripletOptions { Selection = TripletSelection.BatchHard }),
            "triplet-semi-hard" => ("triplet", new TripletOptions { Selection = TripletSelection.SemiHard }),
            _ => (objective, null),
        };
        return backend switch
        {
            "managed" => ObjectiveRegistry.CreateDefault().Create(name, options),
            "torchsharp-cpu" => TorchSharpObjectives.Create(name, options, CPU),
            "torchsharp-cuda" => TorchSharpObjectives.Create(name, options, CUDA),
            _ => throw new ArgumentException($"Unknown backend '{backend}'.", nameof(backend)),
        };
    }

    /// <summary>The batch: 64 patients × 4 scans, 8 coarse classes, Gaussian embeddings, scores in [0, 10).</summary>
    /// <returns>The data.</returns>
    public static Data Batch()
    {
        var rng = new Rng(3);
        var data = new Data { Embeddings = new float[B * D], Gradient = new float[B * D] };
        for (int i = 0; i < data.Embeddings.Length; i++) data.Embeddings[i] = (float)rng.NextGaussian();
        data.Scores = Enumerable.Range(0, B).Select(_ => (float)(rng.NextDouble() * 10)).ToArray();
        data.Patients = Enumerable.Range(0, B).Select(i => i / 4).ToArray();
        data.Labels = Enumerable.Range(0, B).Select(i => (i / 4) % 8).ToArray();
        return data;
    }

    /// <summary>Value and embedding gradient, host copies included.</summary>
    /// <returns>The loss.</returns>
    public static double Compute(IObjective objective, Data data) =>
        objective.Compute(new EmbeddingBatch(data.Embeddings, B, D) { Scores = data.Scores, PatientIds = data.Patients, Labels = data.Labels }, data.Gradient).Loss;
}
