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

    /// <summary>The second view, checked for shape.</summary>
    public static ReadOnlySpan<float> SecondView(in EmbeddingBatch batch, string objective, bool required)
    {
        var v = batch.SecondView;
        if (v.IsEmpty)
        {
            if (required) throw new ObjectiveInputException($"{objective} needs a second view (EmbeddingBatch.SecondView, B×D = {batch.Count}×{batch.Dimension}), but the batch has none.", "SecondView");
            return v;
        }
        if (v.Length != batch.Embeddings.Length)
            throw new ObjectiveInputException($"{objective}: the second view holds {v.Length} values, but B×D = {batch.Count}×{batch.Dimension} = {batch.Embeddings.Length}.", "SecondView");
        return v;
    }

    /// <summary>The scores, checked for length and finiteness.</summary>
    public static ReadOnlySpan<float> Scores(in EmbeddingBatch batch, string objective)
    {
        var s = batch.Scores;
        if (s.Length != batch.Count)
            throw new ObjectiveInputException($"{objective} needs one health score per row (EmbeddingBatch.Scores): expected {batch.Count}, got {s.Length}.", "Scores");
        Finite(s, 1, "scores");
        return s;
    }

    /// <summary>The coarse labels, checked for length.</summary>
    public static ReadOnlySpan<int> Labels(in EmbeddingBatch batch, string objective)
    {
        var s = batch.Labels;
        if (s.Length != batch.Count)
            throw new ObjectiveInputException($"{objective} needs one coarse label per row (EmbeddingBatch.Labels): expected {batch.Count}, got {s.Length}.", "Labels");
        return s;
    }

    /// <summary>The patient ids if present (checked for length), else empty.</summary>
    public static ReadOnlySpan<int> OptionalPatients(in EmbeddingBatch batch, string objective)
    {
        var s = batch.PatientIds;
        if (!s.IsEmpty && s.Length != batch.Count)
            throw new ObjectiveInputException($"{objective}: EmbeddingBatch.PatientIds has {s.Length} entries, expected one per row ({batch.Count}).", "PatientIds");
        return s;
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
