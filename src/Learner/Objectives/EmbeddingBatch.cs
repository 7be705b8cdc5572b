namespace Learner.Objectives;

/// <summary>
/// One batch of embeddings (B rows of D float32 values, row-major) and the batch's metadata, as an objective sees it.
/// Only the fields an objective requires must be set (<see cref="IObjective.Requires"/>); it reads the others it knows
/// (<see cref="IObjective.Reads"/>) when present, and every other field may stay empty.
/// </summary>
/// <remarks>The batch borrows its spans: nothing is copied. Objectives read it and never keep it past a call.</remarks>
public readonly ref struct EmbeddingBatch
{
    /// <summary>Creates a batch over <paramref name="embeddings"/> (B×D, row-major).</summary>
    /// <param name="embeddings">The embeddings; its length must be <paramref name="count"/> × <paramref name="dimension"/>.</param>
    /// <param name="count">B, the number of rows.</param>
    /// <param name="dimension">D, the embedding dimension.</param>
    /// <exception cref="ObjectiveInputException">A size is not positive, or the span length is not B×D.</exception>
    public EmbeddingBatch(ReadOnlySpan<float> embeddings, int count, int dimension)
    {
        if (count <= 0) throw new ObjectiveInputException($"EmbeddingBatch: count (B) must be positive, got {count}.", "count");
        if (dimension <= 0) throw new ObjectiveInputException($"EmbeddingBatch: dimension (D) must be positive, got {dimension}.", "dimension");
        if (embeddings.Length != (long)count * dimension)
            throw new ObjectiveInputException($"EmbeddingBatch: embeddings hold {embeddings.Length} values, but B×D = {count}×{dimension} = {(long)count * dimension}.", "embeddings");
        Embeddings = embeddings;
        Count = count;
        Dimension = dimension;
    }

    /// <summary>A batch of B×D embeddings held elsewhere (on a device, by a backend): its shape and, through the
    /// initialiser, its metadata, with <see cref="Embeddings"/> empty. Host objectives refuse it
    /// (<see cref="BatchContract.Batch"/>); a backend checks its metadata with the same <see cref="BatchContract"/>.</summary>
    /// <param name="count">B.</param>
    /// <param name="dimension">D.</param>
    /// <exception cref="ObjectiveInputException">A size is not positive.</exception>
    public EmbeddingBatch(int count, int dimension)
    {
        if (count <= 0) throw new ObjectiveInputException($"EmbeddingBatch: count (B) must be positive, got {count}.", "count");
        if (dimension <= 0) throw new ObjectiveInputException($"EmbeddingBatch: dimension (D) must be positive, got {dimension}.", "dimension");
        Count = count;
        Dimension = dimension;
    }

    /// <summary>The embeddings, B×D row-major.</summary>
    public ReadOnlySpan<float> Embeddings { get; }

    /// <summary>B, the number of embeddings.</summary>
    public int Count { get; }

    /// <summary>D, the embedding dimension.</summary>
    public int Dimension { get; }

    /// <summary>A second augmented view of the same B scans (B×D), row i pairing with row i of <see cref="Embeddings"/>
    /// (InfoNCE / NT-Xent; SupCon and y-aware InfoNCE use it as extra views when present).</summary>
    public ReadOnlySpan<float> SecondView { get; init; }

    /// <summary>Continuous health score per row (e.g. S/F ratio, MMSE), length B.</summary>
    public ReadOnlySpan<float> Scores { get; init; }

    /// <summary>Patient identifier per row, length B.</summary>
    public ReadOnlySpan<int> PatientIds { get; init; }

    /// <summary>Coarse health label (class) per row, length B.</summary>
    public ReadOnlySpan<int> Labels { get; init; }

    /// <summary>Pairs chosen by a sampler (indices into the batch).</summary>
    public ReadOnlySpan<IndexPair> Pairs { get; init; }

    /// <summary>Triplets chosen by a sampler (indices into the batch).</summary>
    public ReadOnlySpan<IndexTriplet> Triplets { get; init; }

    /// <summary>Row <paramref name="i"/> of the embeddings.</summary>
    /// <param name="i">Row index.</param>
    /// <returns>The D values of the row.</returns>
    public ReadOnlySpan<float> Row(int i) => Embeddings.Slice(i * Dimension, Dimension);
}
