using Learner.Objectives;
using Learner.Objectives.Kernels;

namespace Learner.TorchSharp.Objectives;

/// <summary>The host side of a batch a device objective reads: its size and metadata, with the same checks (and
/// messages) as the managed objectives apply.</summary>
internal readonly ref struct BatchView
{
    private BatchView(int count, int dimension, bool hasSecondView, ReadOnlySpan<float> scores, ReadOnlySpan<int> patients,
        ReadOnlySpan<int> labels, ReadOnlySpan<IndexPair> pairs, ReadOnlySpan<IndexTriplet> triplets)
    {
        Count = count; Dimension = dimension; HasSecondView = hasSecondView;
        Scores = scores; PatientIds = patients; Labels = labels; Pairs = pairs; Triplets = triplets;
    }

    /// <summary>B.</summary>
    public int Count { get; }

    /// <summary>D.</summary>
    public int Dimension { get; }

    /// <summary>Whether a second view accompanies the embeddings.</summary>
    public bool HasSecondView { get; }

    /// <summary>Raw scores (unchecked).</summary>
    public ReadOnlySpan<float> Scores { get; }

    /// <summary>Raw patient ids (unchecked).</summary>
    public ReadOnlySpan<int> PatientIds { get; }

    /// <summary>Raw labels (unchecked).</summary>
    public ReadOnlySpan<int> Labels { get; }

    /// <summary>Sampler pairs (indices unchecked).</summary>
    public ReadOnlySpan<IndexPair> Pairs { get; }

    /// <summary>Sampler triplets (indices unchecked).</summary>
    public ReadOnlySpan<IndexTriplet> Triplets { get; }

    public static BatchView From(in EmbeddingBatch batch) =>
        new(batch.Count, batch.Dimension, !batch.SecondView.IsEmpty, batch.Scores, batch.PatientIds, batch.Labels, batch.Pairs, batch.Triplets);

    public static BatchView From(BatchMetadata? metadata, int count, int dimension, bool hasSecondView) => metadata is null
        ? new(count, dimension, hasSecondView, default, default, default, default, default)
        : new(count, dimension, hasSecondView, metadata.Scores.Span, metadata.PatientIds.Span, metadata.Labels.Span, metadata.Pairs.Span, metadata.Triplets.Span);

    /// <summary>The scores, checked for length and finiteness.</summary>
    public ReadOnlySpan<float> CheckedScores(string objective)
    {
        if (Scores.Length != Count)
            throw new ObjectiveInputException($"{objective} needs one health score per row (EmbeddingBatch.Scores): expected {Count}, got {Scores.Length}.", "Scores");
        InputChecks.Finite(Scores, 1, "scores");
        return Scores;
    }

    /// <summary>The labels, checked for length.</summary>
    public ReadOnlySpan<int> CheckedLabels(string objective)
    {
        if (Labels.Length != Count)
            throw new ObjectiveInputException($"{objective} needs one coarse label per row (EmbeddingBatch.Labels): expected {Count}, got {Labels.Length}.", "Labels");
        return Labels;
    }

    /// <summary>The patient ids if present (checked for length), else empty.</summary>
    public ReadOnlySpan<int> OptionalPatients(string objective)
    {
        if (!PatientIds.IsEmpty && PatientIds.Length != Count)
            throw new ObjectiveInputException($"{objective}: EmbeddingBatch.PatientIds has {PatientIds.Length} entries, expected one per row ({Count}).", "PatientIds");
        return PatientIds;
    }

    /// <summary>Throws when a required second view is missing.</summary>
    public void RequireSecondView(string objective)
    {
        if (!HasSecondView)
            throw new ObjectiveInputException($"{objective} needs a second view (EmbeddingBatch.SecondView, B×D = {Count}×{Dimension}), but the batch has none.", "SecondView");
    }

    /// <summary>The explicit pairs when <paramref name="useProvided"/> and present (indices checked), else empty
    /// (meaning: every pair i &lt; j).</summary>
    public ReadOnlySpan<IndexPair> SelectedPairs(bool useProvided)
    {
        if (!useProvided || Pairs.IsEmpty) return default;
        for (int p = 0; p < Pairs.Length; p++)
        {
            InputChecks.Index(Pairs[p].First, Count, "Pairs", p);
            InputChecks.Index(Pairs[p].Second, Count, "Pairs", p);
        }
        return Pairs;
    }
}
