using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Learner.Objectives.Kernels;

/// <summary>Long sums accumulated in double precision, vectorized.</summary>
internal static class Accumulate
{
    /// <summary>Σ x, accumulated in double.</summary>
    public static double Sum(ReadOnlySpan<float> x)
    {
        int i = 0;
        double s = 0;
        ref float r = ref MemoryMarshal.GetReference(x);
        if (Vector512.IsHardwareAccelerated && x.Length >= 16)
        {
            var acc0 = Vector512<double>.Zero; var acc1 = Vector512<double>.Zero;
            for (; i <= x.Length - 16; i += 16)
            {
                var v = Vector512.LoadUnsafe(ref r, (nuint)i);
                var (lo, hi) = Vector512.Widen(v);
                acc0 += lo; acc1 += hi;
            }
            s = Vector512.Sum(acc0 + acc1);
        }
        else if (Vector256.IsHardwareAccelerated && x.Length >= 8)
        {
            var acc0 = Vector256<double>.Zero; var acc1 = Vector256<double>.Zero;
            for (; i <= x.Length - 8; i += 8)
            {
                var v = Vector256.LoadUnsafe(ref r, (nuint)i);
                var (lo, hi) = Vector256.Widen(v);
                acc0 += lo; acc1 += hi;
            }
            s = Vector256.Sum(acc0 + acc1);
        }
        for (; i < x.Length; i++) s += x[i];
        return s;
    }

    /// <summary>Σ x·y, accumulated in double.</summary>
    public static double Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        int i = 0;
        double s = 0;
        ref float rx = ref MemoryMarshal.GetReference(x);
        ref float ry = ref MemoryMarshal.GetReference(y);
        if (Vector512.IsHardwareAccelerated && x.Length >= 16)
        {
            var acc0 = Vector512<double>.Zero; var acc1 = Vector512<double>.Zero;
            for (; i <= x.Length - 16; i += 16)
            {
                var (xl, xh) = Vector512.Widen(Vector512.LoadUnsafe(ref rx, (nuint)i));
                var (yl, yh) = Vector512.Widen(Vector512.LoadUnsafe(ref ry, (nuint)i));
                acc0 = Vector512.FusedMultiplyAdd(xl, yl, acc0); acc1 = Vector512.FusedMultiplyAdd(xh, yh, acc1);
            }
            s = Vector512.Sum(acc0 + acc1);
        }
        for (; i < x.Length; i++) s += (double)x[i] * y[i];
        return s;
    }

    /// <summary>Σ (x − y)², accumulated in double (exact squared Euclidean distance, no cancellation).</summary>
    public static double SquaredDistance(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        int i = 0;
        double s = 0;
        ref float rx = ref MemoryMarshal.GetReference(x);
        ref float ry = ref MemoryMarshal.GetReference(y);
        if (Vector512.IsHardwareAccelerated && x.Length >= 16)
        {
            var acc0 = Vector512<double>.Zero; var acc1 = Vector512<double>.Zero;
            for (; i <= x.Length - 16; i += 16)
            {
                var (xl, xh) = Vector512.Widen(Vector512.LoadUnsafe(ref rx, (nuint)i));
                var (yl, yh) = Vector512.Widen(Vector512.LoadUnsafe(ref ry, (nuint)i));
                var dl = xl - yl; var dh = xh - yh;
                acc0 = Vector512.FusedMultiplyAdd(dl, dl, acc0); acc1 = Vector512.FusedMultiplyAdd(dh, dh, acc1);
            }
            s = Vector512.Sum(acc0 + acc1);
        }
        for (; i < x.Length; i++) { double d = (double)x[i] - y[i]; s += d * d; }
        return s;
    }
}
