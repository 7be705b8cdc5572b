using BenchmarkDotNet.Attributes;
using Learner.Encoders;
using Learner.Nn;

namespace Learner.TorchSharp.Benchmarks;

/// <summary>
/// Embedding <see cref="EmbeddingWorkload.Clips"/> clips with the small TSM ResNet of <see cref="StepWorkload"/> in
/// evaluation mode, without gradients, in batches of <see cref="EmbeddingWorkload.BatchSize"/> (what
/// <c>Embedder.EmbedAll</c> does for the downstream tasks): the same encoder weights on each backend.
/// </summary>
public class EmbeddingBenchmarks
{
    private IEncoder _encoder = null!;
    private Tensor[] _batches = Array.Empty<Tensor>();
    private float[] _embeddings = Array.Empty<float>();

    /// <summary>The backends present on this machine.</summary>
    public static IEnumerable<string> Backends() => StepWorkload.Backends();

    /// <summary>The backend measured.</summary>
    [ParamsSource(nameof(Backends))]
    public string Backend { get; set; } = "managed";

    /// <summary>Builds the encoder and the clips.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _encoder = EmbeddingWorkload.Create(Backend);
        _batches = EmbeddingWorkload.Batches();
        _embeddings = new float[EmbeddingWorkload.Clips * _encoder.EmbeddingDimension];
    }

    /// <summary>Releases native memory.</summary>
    [GlobalCleanup]
    public void Cleanup() => (_encoder as IDisposable)?.Dispose();

    /// <summary>Embeds every clip.</summary>
    /// <returns>The first embedding entry.</returns>
    [Benchmark]
    public float EmbedAll() => EmbeddingWorkload.EmbedAll(_encoder, _batches, _embeddings);
}

/// <summary>The embedding pass both the BenchmarkDotNet suite and the quick side-by-side mode time.</summary>
public static class EmbeddingWorkload
{
    /// <summary>Clips embedded per pass.</summary>
    public const int Clips = 256;

    /// <summary>Clips per forward pass (the <c>Embedder.EmbedAll</c> default).</summary>
    public const int BatchSize = 64;

    /// <summary>The step's encoder (same settings and seed, so the same weights on every backend), in evaluation
    /// mode.</summary>
    /// <param name="backend">managed, torchsharp-cpu or torchsharp-cuda.</param>
    /// <returns>The encoder.</returns>
    public static IEncoder Create(string backend)
    {
        var (encoder, objective) = StepWorkload.Create(backend);
        (objective as IDisposable)?.Dispose();
        encoder.SetTraining(false);
        return encoder;
    }

    /// <summary>The clips, <see cref="BatchSize"/> per batch, each 8 frames of 32×32.</summary>
    /// <returns>The batches.</returns>
    public static Tensor[] Batches()
    {
        var rng = new Rng(11);
        return Enumerable.Range(0, Clips / BatchSize)
            .Select(_ => Tensor.Normal(rng, 0, 1, BatchSize, StepWorkload.Encoder.ClipLength, 32, 32)).ToArray();
    }

    /// <summary>Embeds every batch into <paramref name="embeddings"/> (Clips × D).</summary>
    /// <returns>The first embedding entry.</returns>
    public static float EmbedAll(IEncoder encoder, Tensor[] batches, float[] embeddings)
    {
        int d = encoder.EmbeddingDimension;
        for (int b = 0; b < batches.Length; b++)
        {
            using var scope = TensorScope.Begin();
            encoder.Forward(batches[b], embeddings.AsSpan(b * BatchSize * d, BatchSize * d), requiresGrad: false);
        }
        return embeddings[0];
    }
}
