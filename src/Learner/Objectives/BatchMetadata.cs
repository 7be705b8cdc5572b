namespace Learner.Objectives;

/// <summary>The metadata of an <see cref="EmbeddingBatch"/> held in memory (rather than spans), for callers that keep it
/// across steps or work with tensors (<see cref="ObjectiveGraph"/>, the training loop, a device backend); it becomes an
/// <see cref="EmbeddingBatch"/> through <see cref="ToBatch(ReadOnlySpan{float}, int, int, ReadOnlySpan{float})"/>.
/// Reuse one instance across steps to avoid allocation.</summary>
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
    /// <exception cref="ObjectiveInputException">A size is not positive, or the embeddings are not B×D.</exception>
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

    /// <summary>A batch of B×D embeddings held elsewhere (see <see cref="EmbeddingBatch(int, int)"/>) with this metadata.</summary>
    /// <param name="count">B.</param>
    /// <param name="dimension">D.</param>
    /// <returns>The batch (no embeddings).</returns>
    /// <exception cref="ObjectiveInputException">A size is not positive.</exception>
    public EmbeddingBatch ToBatch(int count, int dimension)
        => new(count, dimension)
        {
            Scores = Scores.Span, PatientIds = PatientIds.Span, Labels = Labels.Span, Pairs = Pairs.Span, Triplets = Triplets.Span,
        };
}
