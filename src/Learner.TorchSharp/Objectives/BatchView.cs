using Learner.Objectives;
using Learner.Objectives.Kernels;

namespace Learner.TorchSharp.Objectives;

/// <summary>The host side of a batch a device objective reads: its size and metadata, checked by the managed
/// objectives' own <see cref="BatchContract"/>.</summary>
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
    public ReadOnlySpan<float> CheckedScores(string objective) => BatchContract.Scores(Scores, Count, objective);

    /// <summary>The labels, checked for length.</summary>
    public ReadOnlySpan<int> CheckedLabels(string objective) => BatchContract.Labels(Labels, Count, objective);

    /// <summary>The patient ids if present (checked for length), else empty.</summary>
    public ReadOnlySpan<int> OptionalPatients(string objective) => BatchContract.OptionalPatients(PatientIds, Count, objective);

    /// <summary>Throws when a required second view is missing.</summary>
    public void RequireSecondView(string objective) =>
        BatchContract.SecondView(HasSecondView ? Count * Dimension : 0, Count, Dimension, objective, required: true);

    /// <summary>The explicit pairs when <paramref name="useProvided"/> and present (indices checked), else empty
    /// (meaning: every pair i &lt; j).</summary>
    public ReadOnlySpan<IndexPair> SelectedPairs(bool useProvided)
    {
        if (!useProvided || Pairs.IsEmpty) return default;
        BatchContract.Pairs(Pairs, Count);
        return Pairs;
    }
}
