namespace Learner.Objectives;

/// <summary>Batch metadata held in memory (rather than spans), for callers that work with tensors
/// (<see cref="ObjectiveGraph"/>). Reuse one instance across steps to avoid allocation.</summary>
public sealed class BatchMetadata
{
    /// <summary>Health score per row.</summary>
    public ReadOnlyMemory<float> Scores { get; set; }

    /// <summary>Patient id per row.</summary>
    public ReadOnlyMemory<int> PatientIds { get; set; }

    /// <summary>Coarse label per row.</summary>
    public ReadOnlyMemory<int> Labels { get; set; }

    /// <summary>Sampler pairs.</summary>
    public ReadOnlyMemory<IndexPair> Pairs { get; set; }

    /// <summary>Sampler triplets.</summary>
    public ReadOnlyMemory<IndexTriplet> Triplets { get; set; }

    /// <summary>A batch over <paramref name="embeddings"/> (and <paramref name="secondView"/>) with this metadata.</summary>
    /// <param name="embeddings">B×D embeddings.</param>
    /// <param name="count">B.</param>
    /// <param name="dimension">D.</param>
    /// <param name="secondView">Optional second view (B×D) or empty.</param>
    /// <returns>The batch.</returns>
    public EmbeddingBatch ToBatch(ReadOnlySpan<float> embeddings, int count, int dimension, ReadOnlySpan<float> secondView = default)
        => new(embeddings, count, dimension)
        {
            SecondView = secondView,
            Scores = Scores.Span,
            PatientIds = PatientIds.Span,
            Labels = Labels.Span,
            Pairs = Pairs.Span,
            Triplets = Triplets.Span,
        };
}
