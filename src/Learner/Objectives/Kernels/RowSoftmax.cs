using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Learner.Objectives.Kernels;

/// <summary>
/// The two sweeps of a softmax row, fused and vectorized (Vector512, else Vector256, with scalar tails): the maximum
/// (<see cref="Max"/>, which assumes no NaN — the objectives reject non-finite input), then x ← exp(x − m) and its sum
/// accumulated in double (<see cref="ExpShiftSum"/>).
/// </summary>
internal static class RowSoftmax
{
    /// <summary>max x over a row without NaN (−∞ entries allowed). An empty row gives −∞.</summary>
    public static float Max(ReadOnlySpan<float> x)
    {
        int i = 0;
        float m = float.NegativeInfinity;
        ref float r = ref MemoryMarshal.GetReference(x);
        if (Vector512.IsHardwareAccelerated && x.Length >= 64)
        {
            var a0 = Vector512.Create(float.NegativeInfinity); var a1 = a0; var a2 = a0; var a3 = a0;
            for (; i <= x.Length - 64; i += 64)
            {
                a0 = Vector512.MaxNative(a0, Vector512.LoadUnsafe(ref r, (nuint)i));
                a1 = Vector512.MaxNative(a1, Vector512.LoadUnsafe(ref r, (nuint)(i + 16)));
                a2 = Vector512.MaxNative(a2, Vector512.LoadUnsafe(ref r, (nuint)(i + 32)));
                a3 = Vector512.MaxNative(a3, Vector512.LoadUnsafe(ref r, (nuint)(i + 48)));
            }
            for (; i <= x.Length - 16; i += 16) a0 = Vector512.MaxNative(a0, Vector512.LoadUnsafe(ref r, (nuint)i));
            var a = Vector512.MaxNative(Vector512.MaxNative(a0, a1), Vector512.MaxNative(a2, a3));
            for (int k = 0; k < 16; k++) m = Math.Max(m, a.GetElement(k));
        }
        else if (Vector256.IsHardwareAccelerated && x.Length >= 8)
        {
            var a = Vector256.Create(float.NegativeInfinity);
            for (; i <= x.Length - 8; i += 8) a = Vector256.MaxNative(a, Vector256.LoadUnsafe(ref r, (nuint)i));
            for (int k = 0; k < 8; k++) m = Math.Max(m, a.GetElement(k));
        }
        for (; i < x.Length; i++) if (x[i] > m) m = x[i];
        return m;
    }

    /// <summary>x ← exp(x − <paramref name="shift"/>) in place; returns Σ of the new values, accumulated in double.</summary>
    /// <remarks>TensorPrimitives.Exp is used rather than Vector512.Exp: measured on .NET 10 (Zen 5), it is about 7× faster
    /// per element.</remarks>
    public static double ExpShiftSum(Span<float> x, float shift)
    {
        TensorPrimitives.Subtract(x, shift, x);
        TensorPrimitives.Exp(x, x);
        return Accumulate.Sum(x);
    }
}
