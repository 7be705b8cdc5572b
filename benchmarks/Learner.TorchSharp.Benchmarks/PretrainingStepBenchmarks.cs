using BenchmarkDotNet.Attributes;
using Learner.Encoders;
using Learner.Nn;
using Learner.Objectives;
using static TorchSharp.torch;
using Tensor = Learner.Nn.Tensor;

namespace Learner.TorchSharp.Benchmarks;

/// <summary>
/// One pretraining step of the small TSM ResNet (widths 8-16-32-64, clips of 8 frames of 32×32, D = 128, 8 patients × 2
/// scans per batch) with the weighted contrastive objective, on each backend in the same run: forward, objective and its
/// gradient, backward, gradient clipping, AdamW. The encoders start from the same weights (the TorchSharp ports copy
/// the managed initialisation) and see the same batch.
/// </summary>
public class PretrainingStepBenchmarks
{
    private IEncoder _encoder = null!;
    private IEncoderOptimizer _optimizer = null!;
    private IObjective _objective = null!;
    private Tensor _clips = null!;
    private float[] _embeddings = Array.Empty<float>(), _gradient = Array.Empty<float>(), _scores = Array.Empty<float>();
    private int[] _patients = Array.Empty<int>();

    /// <summary>The backends present on this machine: managed, torchsharp-cpu, and torchsharp-cuda when TorchSharp
    /// finds a GPU.</summary>
    public static IEnumerable<string> Backends() => StepWorkload.Backends();

    /// <summary>The backend measured.</summary>
    [ParamsSource(nameof(Backends))]
    public string Backend { get; set; } = "managed";

    /// <summary>Builds the encoder, its optimizer, the objective and one batch.</summary>
    [GlobalSetup]
    public void Setup()
    {
        (_encoder, _objective) = StepWorkload.Create(Backend);
        _optimizer = _encoder.CreateOptimizer(new EncoderOptimizerOptions());
        (_clips, _scores, _patients) = StepWorkload.Batch();
        _embeddings = new float[StepWorkload.BatchSize * _encoder.EmbeddingDimension];
        _gradient = new float[_embeddings.Length];
        for (int i = 0; i < 3; i++) Step();
    }

    /// <summary>Releases native memory.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        (_objective as IDisposable)?.Dispose();
        (_encoder as IDisposable)?.Dispose();
    }

    /// <summary>One step.</summary>
    /// <returns>The loss.</returns>
    [Benchmark]
    public double Step() => StepWorkload.Step(_encoder, _optimizer, _objective, _clips, _scores, _patients, _embeddings, _gradient);
}

/// <summary>The step both the BenchmarkDotNet suite and the quick side-by-side mode time.</summary>
public static class StepWorkload
{
    /// <summary>Clips per batch.</summary>
    public const int BatchSize = 16;

    /// <summary>The encoder settings: the small TSM ResNet preset (widths 8-16-32-64), or, with
    /// <see cref="EncoderOptions.WidthMultiplier"/> 8, ResNet-18's widths 64-128-256-512 (<c>--quick … --width 8</c>).</summary>
    public static EncoderOptions Encoder { get; set; } = new() { Architecture = "tsm-resnet", EmbeddingDimension = 128, ClipLength = 8, Seed = 1 };

    /// <summary>The backends present on this machine.</summary>
    /// <returns>Their names.</returns>
    public static IEnumerable<string> Backends()
    {
        yield return "managed";
        yield return "torchsharp-cpu";
        if (cuda.is_available()) yield return "torchsharp-cuda";
    }

    /// <summary>The encoder and the objective on a backend.</summary>
    /// <param name="backend">managed, torchsharp-cpu or torchsharp-cuda.</param>
    /// <returns>Both.</returns>
    public static (IEncoder Encoder, IObjective Objective) Create(string backend)
    {
        var b = backend switch
        {
            "managed" => ComputeBackend.Managed,
            "torchsharp-cpu" => TorchSharpBackend.Create(CPU),
            "torchsharp-cuda" => TorchSharpBackend.Create(CUDA),
            _ => throw new ArgumentException($"Unknown backend '{backend}'.", nameof(backend)),
        };
        var encoder = b.CreateEncoder(Encoder);
        encoder.SetTraining(true);
        // The experiment's recipe for the spec, built by the backend's registry (device objectives where it has them):
        // a cohort of mean score 300 and standard deviation 100, the run's seed 1.
        var objective = ObjectiveRecipes.Default.Build(ObjectiveSpec.Parse("weighted-contrastive"),
            new ObjectiveContext(encoder.EmbeddingDimension, 1, CohortStatistics.FromMoments(300, 100)), b.Objectives);
        return (encoder, objective);
    }

    /// <summary>One batch: 8 patients × 2 clips of 8 frames of 32×32, with scores.</summary>
    /// <returns>The clips, the scores and the patient ids.</returns>
    public static (Tensor Clips, float[] Scores, int[] Patients) Batch()
    {
        var rng = new Rng(7);
        var clips = Tensor.Normal(rng, 0, 1, BatchSize, Encoder.ClipLength, 32, 32);
        var scores = Enumerable.Range(0, BatchSize).Select(i => (float)(200 + 40 * (i / 2) + 15 * (i % 2))).ToArray();
        var patients = Enumerable.Range(0, BatchSize).Select(i => i / 2).ToArray();
        return (clips, scores, patients);
    }

    /// <summary>Forward, objective, backward, clipping, AdamW.</summary>
    /// <returns>The loss.</returns>
    public static double Step(IEncoder encoder, IEncoderOptimizer optimizer, IObjective objective, Tensor clips, float[] scores, int[] patients, float[] embeddings, float[] gradient)
    {
        using var scope = TensorScope.Begin();
        optimizer.ZeroGrad();
        encoder.Forward(clips, embeddings, requiresGrad: true);
        var result = objective.Compute(new EmbeddingBatch(embeddings, BatchSize, encoder.EmbeddingDimension) { Scores = scores, PatientIds = patients }, gradient);
        encoder.Backward(gradient);
        optimizer.ClipGradNorm(5);
        optimizer.Step();
        return result.Loss;
    }
}
