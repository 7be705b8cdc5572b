using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Learner.Objectives;

/// <summary>
/// The input contract of every objective, as checks with their exact messages: the embeddings and gradient buffers
/// (<see cref="Batch"/>), then each metadata field an objective reads. The built-in objectives of every backend call
/// these, so that a batch is refused with the same <see cref="ObjectiveInputException"/> or
/// <see cref="NonFiniteEmbeddingException"/> (same field, same message) whichever backend computes the objective; a
/// third-party objective or backend calls them to behave the same way.
/// </summary>
public static class BatchContract
{
    /// <summary>Throws <see cref="NonFiniteEmbeddingException"/> naming the row and column of the first NaN/∞.</summary>
    /// <param name="x">Row-major values.</param>
    /// <param name="columns">Values per row (1 for per-row scalars).</param>
    /// <param name="input">The input's name in the message ("embeddings", "second view", "scores").</param>
    /// <exception cref="NonFiniteEmbeddingException">A value is NaN or infinite.</exception>
    public static void Finite(ReadOnlySpan<float> x, int columns, string input)
    {
        int bad = IndexOfNonFinite(x);
        if (bad >= 0) throw new NonFiniteEmbeddingException(input, bad / columns, bad % columns, x[bad]);
    }

    /// <summary>Index of the first NaN or infinity, or −1.</summary>
    /// <param name="x">The values.</param>
    /// <returns>The index, or −1 when every value is finite.</returns>
    public static int IndexOfNonFinite(ReadOnlySpan<float> x) => Learner.Nn.Kernels.Simd.IndexOfNonFinite(x);

    /// <summary>Checks the embeddings (and second view, when present) are finite.</summary>
    /// <param name="batch">The batch.</param>
    /// <exception cref="NonFiniteEmbeddingException">A value is NaN or infinite.</exception>
    public static void Embeddings(in EmbeddingBatch batch)
    {
        Finite(batch.Embeddings, batch.Dimension, "embeddings");
        if (!batch.SecondView.IsEmpty) Finite(batch.SecondView, batch.Dimension, "second view");
    }

    /// <summary>Everything an objective checks before its own metadata: the embeddings are present and finite (the
    /// second view too), and each gradient buffer is empty or B×D (a second-view buffer only with a second view).</summary>
    /// <param name="batch">The batch.</param>
    /// <param name="objective">The objective's name, for messages.</param>
    /// <param name="gradEmbeddings">The embeddings' gradient buffer, or empty.</param>
    /// <param name="gradSecondView">The second view's gradient buffer, or empty.</param>
    /// <exception cref="ObjectiveInputException">No embeddings, or a gradient buffer of the wrong length.</exception>
    /// <exception cref="NonFiniteEmbeddingException">An embedding is NaN or infinite.</exception>
    public static void Batch(in EmbeddingBatch batch, string objective, Span<float> gradEmbeddings, Span<float> gradSecondView)
    {
        if (batch.Embeddings.IsEmpty)
            throw new ObjectiveInputException($"{objective}: the batch has no embeddings (use the EmbeddingBatch constructor).", "Embeddings");
        Gradient(gradEmbeddings, batch.Embeddings.Length, nameof(gradEmbeddings));
        if (!gradSecondView.IsEmpty)
        {
            if (batch.SecondView.IsEmpty)
                throw new ObjectiveInputException($"{objective}: a second-view gradient buffer was given but the batch has no second view.", nameof(gradSecondView));
            Gradient(gradSecondView, batch.Embeddings.Length, nameof(gradSecondView));
        }
        Embeddings(batch);
    }

    /// <summary>The second view, checked for shape.</summary>
    /// <param name="batch">The batch.</param>
    /// <param name="objective">The objective's name, for messages.</param>
    /// <param name="required">Whether a missing second view is an error.</param>
    /// <returns>The second view, or empty when absent and not required.</returns>
    /// <exception cref="ObjectiveInputException">Missing when required, or not B×D.</exception>
    public static ReadOnlySpan<float> SecondView(in EmbeddingBatch batch, string objective, bool required)
    {
        var v = batch.SecondView;
        SecondView(v.Length, batch.Count, batch.Dimension, objective, required);
        return v;
    }

    /// <summary>Checks a second view of <paramref name="length"/> values (0: none) against B×D.</summary>
    /// <param name="length">The second view's length (0 when absent).</param>
    /// <param name="count">B.</param>
    /// <param name="dimension">D.</param>
    /// <param name="objective">The objective's name, for messages.</param>
    /// <param name="required">Whether a missing second view is an error.</param>
    /// <exception cref="ObjectiveInputException">Missing when required, or not B×D.</exception>
    public static void SecondView(int length, int count, int dimension, string objective, bool required)
    {
        if (length == 0)
        {
            if (required) throw new ObjectiveInputException($"{objective} needs a second view (EmbeddingBatch.SecondView, B×D = {count}×{dimension}), but the batch has none.", "SecondView");
            return;
        }
        if (length != (long)count * dimension)
            throw new ObjectiveInputException($"{objective}: the second view holds {length} values, but B×D = {count}×{dimension} = {(long)count * dimension}.", "SecondView");
    }

    /// <summary>The scores, checked for length and finiteness.</summary>
    /// <param name="batch">The batch.</param>
    /// <param name="objective">The objective's name, for messages.</param>
    /// <returns>The scores.</returns>
    /// <exception cref="ObjectiveInputException">Not one score per row.</exception>
    /// <exception cref="NonFiniteEmbeddingException">A score is NaN or infinite.</exception>
    public static ReadOnlySpan<float> Scores(in EmbeddingBatch batch, string objective) => Scores(batch.Scores, batch.Count, objective);

    /// <summary>Scores for <paramref name="count"/> rows, checked for length and finiteness.</summary>
    /// <param name="s">The scores.</param>
    /// <param name="count">B.</param>
    /// <param name="objective">The objective's name, for messages.</param>
    /// <returns><paramref name="s"/>.</returns>
    /// <exception cref="ObjectiveInputException">Not one score per row.</exception>
    /// <exception cref="NonFiniteEmbeddingException">A score is NaN or infinite.</exception>
    public static ReadOnlySpan<float> Scores(ReadOnlySpan<float> s, int count, string objective)
    {
        if (s.Length != count)
            throw new ObjectiveInputException($"{objective} needs one health score per row (EmbeddingBatch.Scores): expected {count}, got {s.Length}.", "Scores");
        Finite(s, 1, "scores");
        return s;
    }

    /// <summary>The coarse labels, checked for length.</summary>
    /// <param name="batch">The batch.</param>
    /// <param name="objective">The objective's name, for messages.</param>
    /// <returns>The labels.</returns>
    /// <exception cref="ObjectiveInputException">Not one label per row.</exception>
    public static ReadOnlySpan<int> Labels(in EmbeddingBatch batch, string objective) => Labels(batch.Labels, batch.Count, objective);

    /// <summary>Coarse labels for <paramref name="count"/> rows, checked for length.</summary>
    /// <param name="s">The labels.</param>
    /// <param name="count">B.</param>
    /// <param name="objective">The objective's name, for messages.</param>
    /// <returns><paramref name="s"/>.</returns>
    /// <exception cref="ObjectiveInputException">Not one label per row.</exception>
    public static ReadOnlySpan<int> Labels(ReadOnlySpan<int> s, int count, string objective)
    {
        if (s.Length != count)
            throw new ObjectiveInputException($"{objective} needs one coarse label per row (EmbeddingBatch.Labels): expected {count}, got {s.Length}.", "Labels");
        return s;
    }

    /// <summary>The patient ids, which the objective needs (one per row).</summary>
    /// <param name="batch">The batch.</param>
    /// <param name="objective">The objective's name (and the setting that needs them), for messages.</param>
    /// <returns>The ids.</returns>
    /// <exception cref="ObjectiveInputException">Absent, or not one per row.</exception>
    public static ReadOnlySpan<int> Patients(in EmbeddingBatch batch, string objective)
    {
        var s = OptionalPatients(batch, objective);
        if (s.IsEmpty)
            throw new ObjectiveInputException($"{objective} needs the patient of every row (EmbeddingBatch.PatientIds).", "PatientIds");
        return s;
    }

    /// <summary>The patient ids if present (checked for length), else empty.</summary>
    /// <param name="batch">The batch.</param>
    /// <param name="objective">The objective's name, for messages.</param>
    /// <returns>The ids, or empty.</returns>
    /// <exception cref="ObjectiveInputException">Present but not one per row.</exception>
    public static ReadOnlySpan<int> OptionalPatients(in EmbeddingBatch batch, string objective) => OptionalPatients(batch.PatientIds, batch.Count, objective);

    /// <summary>Patient ids for <paramref name="count"/> rows if present (checked for length), else empty.</summary>
    /// <param name="s">The ids.</param>
    /// <param name="count">B.</param>
    /// <param name="objective">The objective's name, for messages.</param>
    /// <returns><paramref name="s"/>.</returns>
    /// <exception cref="ObjectiveInputException">Present but not one per row.</exception>
    public static ReadOnlySpan<int> OptionalPatients(ReadOnlySpan<int> s, int count, string objective)
    {
        if (!s.IsEmpty && s.Length != count)
            throw new ObjectiveInputException($"{objective}: EmbeddingBatch.PatientIds has {s.Length} entries, expected one per row ({count}).", "PatientIds");
        return s;
    }

    /// <summary>Checks every pair's indices against a batch of <paramref name="count"/> rows.</summary>
    /// <param name="pairs">The pairs.</param>
    /// <param name="count">B.</param>
    /// <exception cref="ObjectiveInputException">An index is outside the batch (the message names the pair).</exception>
    public static void Pairs(ReadOnlySpan<IndexPair> pairs, int count)
    {
        for (int p = 0; p < pairs.Length; p++)
        {
            Index(pairs[p].First, count, "Pairs", p);
            Index(pairs[p].Second, count, "Pairs", p);
        }
    }

    /// <summary>The pair objectives' selection rule: the batch's pairs (indices checked) when
    /// <paramref name="useProvided"/> and the batch has some; otherwise empty, meaning every pair i &lt; j of the batch.</summary>
    /// <param name="batch">The batch.</param>
    /// <param name="useProvided">The objective's UseProvidedPairs option.</param>
    /// <returns>The pairs to visit, or empty for all pairs.</returns>
    /// <exception cref="ObjectiveInputException">A pair's index is outside the batch.</exception>
    public static ReadOnlySpan<IndexPair> SelectedPairs(in EmbeddingBatch batch, bool useProvided)
    {
        if (!useProvided || batch.Pairs.IsEmpty) return default;
        Pairs(batch.Pairs, batch.Count);
        return batch.Pairs;
    }

    /// <summary>The sampler's triplets for a triplet loss with provided selection: present, every index inside a batch of
    /// <paramref name="count"/> rows (checked before any is used).</summary>
    /// <param name="triplets">The triplets.</param>
    /// <param name="count">B.</param>
    /// <returns><paramref name="triplets"/>.</returns>
    /// <exception cref="ObjectiveInputException">No triplets, or an index outside the batch.</exception>
    public static ReadOnlySpan<IndexTriplet> ProvidedTriplets(ReadOnlySpan<IndexTriplet> triplets, int count)
    {
        if (triplets.IsEmpty)
            throw new ObjectiveInputException("Triplet loss with Selection = Provided needs EmbeddingBatch.Triplets, but the batch has none.", "Triplets");
        for (int t = 0; t < triplets.Length; t++)
        {
            Index(triplets[t].Anchor, count, "Triplets", t);
            Index(triplets[t].Positive, count, "Triplets", t);
            Index(triplets[t].Negative, count, "Triplets", t);
        }
        return triplets;
    }

    /// <summary>Checks an index into the batch.</summary>
    /// <param name="index">The index.</param>
    /// <param name="count">B.</param>
    /// <param name="field">The field holding it ("Pairs", "Triplets").</param>
    /// <param name="item">The item's position in the field.</param>
    /// <exception cref="ObjectiveInputException">The index is outside [0, B).</exception>
    public static void Index(int index, int count, string field, int item)
    {
        if ((uint)index >= (uint)count)
            throw new ObjectiveInputException($"{field}[{item}] refers to row {index}, outside the batch of {count} rows.", field);
    }

    /// <summary>Checks a gradient buffer is empty or holds exactly <paramref name="length"/> values.</summary>
    /// <param name="grad">The buffer.</param>
    /// <param name="length">B×D.</param>
    /// <param name="name">The buffer's name, for messages.</param>
    /// <returns>True when the buffer is to be written (not empty).</returns>
    /// <exception cref="ObjectiveInputException">The buffer has another length.</exception>
    public static bool Gradient(Span<float> grad, int length, string name)
    {
        if (grad.IsEmpty) return false;
        if (grad.Length != length)
            throw new ObjectiveInputException($"The gradient buffer '{name}' has {grad.Length} elements; it must be empty or hold exactly {length}.", name);
        return true;
    }
}
