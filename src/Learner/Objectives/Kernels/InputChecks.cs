using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Learner.Objectives.Kernels;

/// <summary>Validation of batches and gradient buffers shared by the objectives.</summary>
internal static class InputChecks
{
    /// <summary>Throws <see cref="NonFiniteEmbeddingException"/> naming the row and column of the first NaN/∞.</summary>
    public static void Finite(ReadOnlySpan<float> x, int columns, string input)
    {
        int bad = IndexOfNonFinite(x);
        if (bad >= 0) throw new NonFiniteEmbeddingException(input, bad / columns, bad % columns, x[bad]);
    }

    /// <summary>Index of the first NaN or infinity, or −1.</summary>
    public static int IndexOfNonFinite(ReadOnlySpan<float> x)
    {
        int i = 0;
        ref float r = ref MemoryMarshal.GetReference(x);
        if (Vector512.IsHardwareAccelerated)
        {
            var exp = Vector512.Create(0x7F800000u);
            for (; i <= x.Length - 16; i += 16)
                if (Vector512.EqualsAny(Vector512.LoadUnsafe(ref r, (nuint)i).AsUInt32() & exp, exp)) break;
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var exp = Vector256.Create(0x7F800000u);
            for (; i <= x.Length - 8; i += 8)
                if (Vector256.EqualsAny(Vector256.LoadUnsafe(ref r, (nuint)i).AsUInt32() & exp, exp)) break;
        }
        for (; i < x.Length; i++) if (!float.IsFinite(x[i])) return i;
        return -1;
    }

    /// <summary>Checks the embeddings (and second view, when present) are finite.</summary>
    public static void Embeddings(in EmbeddingBatch batch)
    {
        Finite(batch.Embeddings, batch.Dimension, "embeddings");
        if (!batch.SecondView.IsEmpty) Finite(batch.SecondView, batch.Dimension, "second view");
    }

    /// <summary>Everything an objective checks before its own metadata: the embeddings are present and finite (the
    /// second view too), and each gradient buffer is empty or B×D (a second-view buffer only with a second view).</summary>
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
    public static ReadOnlySpan<float> SecondView(in EmbeddingBatch batch, string objective, bool required)
    {
        var v = batch.SecondView;
        SecondView(v.Length, batch.Count, batch.Dimension, objective, required);
        return v;
    }

    /// <summary>Checks a second view of <paramref name="length"/> values (0: none) against B×D.</summary>
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
    public static ReadOnlySpan<float> Scores(in EmbeddingBatch batch, string objective) => Scores(batch.Scores, batch.Count, objective);

    /// <summary>Scores for <paramref name="count"/> rows, checked for length and finiteness.</summary>
    public static ReadOnlySpan<float> Scores(ReadOnlySpan<float> s, int count, string objective)
    {
        if (s.Length != count)
            throw new ObjectiveInputException($"{objective} needs one health score per row (EmbeddingBatch.Scores): expected {count}, got {s.Length}.", "Scores");
        Finite(s, 1, "scores");
        return s;
    }

    /// <summary>The coarse labels, checked for length.</summary>
    public static ReadOnlySpan<int> Labels(in EmbeddingBatch batch, string objective) => Labels(batch.Labels, batch.Count, objective);

    /// <summary>Coarse labels for <paramref name="count"/> rows, checked for length.</summary>
    public static ReadOnlySpan<int> Labels(ReadOnlySpan<int> s, int count, string objective)
    {
        if (s.Length != count)
            throw new ObjectiveInputException($"{objective} needs one coarse label per row (EmbeddingBatch.Labels): expected {count}, got {s.Length}.", "Labels");
        return s;
    }

    /// <summary>The patient ids if present (checked for length), else empty.</summary>
    public static ReadOnlySpan<int> OptionalPatients(in EmbeddingBatch batch, string objective) => OptionalPatients(batch.PatientIds, batch.Count, objective);

    /// <summary>Patient ids for <paramref name="count"/> rows if present (checked for length), else empty.</summary>
    public static ReadOnlySpan<int> OptionalPatients(ReadOnlySpan<int> s, int count, string objective)
    {
        if (!s.IsEmpty && s.Length != count)
            throw new ObjectiveInputException($"{objective}: EmbeddingBatch.PatientIds has {s.Length} entries, expected one per row ({count}).", "PatientIds");
        return s;
    }

    /// <summary>Checks every pair's indices against a batch of <paramref name="count"/> rows.</summary>
    public static void Pairs(ReadOnlySpan<IndexPair> pairs, int count)
    {
        for (int p = 0; p < pairs.Length; p++)
        {
            Index(pairs[p].First, count, "Pairs", p);
            Index(pairs[p].Second, count, "Pairs", p);
        }
    }

    /// <summary>The sampler's triplets for a triplet loss with provided selection: present, every index inside a batch of
    /// <paramref name="count"/> rows (checked before any is used).</summary>
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
    public static void Index(int index, int count, string field, int item)
    {
        if ((uint)index >= (uint)count)
            throw new ObjectiveInputException($"{field}[{item}] refers to row {index}, outside the batch of {count} rows.", field);
    }

    /// <summary>Checks a gradient buffer is empty or B×D.</summary>
    public static bool Gradient(Span<float> grad, int length, string name)
    {
        if (grad.IsEmpty) return false;
        if (grad.Length != length)
            throw new ObjectiveInputException($"The gradient buffer '{name}' has {grad.Length} elements; it must be empty or hold exactly {length}.", name);
        return true;
    }
}
