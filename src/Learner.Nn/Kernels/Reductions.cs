using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Learner.Nn.Kernels;

/// <summary>
/// Row reductions used by the softmax family and the normalisations. Lanes accumulate in float over blocks of at
/// most <see cref="Block"/> elements; blocks are added in double, so long rows keep full float accuracy.
/// </summary>
internal static class Reductions
{
    /// <summary>Block length of the float lane accumulators.</summary>
    internal const int Block = 1024;

    /// <summary>Σ (x − mean)², accumulated in double across blocks.</summary>
    internal static double SumSquaredDeviations(ReadOnlySpan<float> x, float mean)
    {
        double total = 0;
        for (int b = 0; b < x.Length; b += Block)
        {
            var s = x.Slice(b, Math.Min(Block, x.Length - b));
            ref float r = ref MemoryMarshal.GetReference(s);
            int n = s.Length, i = 0;
            float acc = 0;
            if (Vector512.IsHardwareAccelerated && n >= 16)
            {
                var m = Vector512.Create(mean);
                var a = Vector512<float>.Zero;
                for (; i <= n - 16; i += 16) { var d = Vector512.LoadUnsafe(ref r, (nuint)i) - m; a = Vector512.FusedMultiplyAdd(d, d, a); }
                acc = Vector512.Sum(a);
            }
            else if (Vector256.IsHardwareAccelerated && n >= 8)
            {
                var m = Vector256.Create(mean);
                var a = Vector256<float>.Zero;
                for (; i <= n - 8; i += 8) { var d = Vector256.LoadUnsafe(ref r, (nuint)i) - m; a = Vector256.FusedMultiplyAdd(d, d, a); }
                acc = Vector256.Sum(a);
            }
            for (; i < n; i++) { float d = s[i] - mean; acc += d * d; }
            total += acc;
        }
        return total;
    }

    /// <summary>acc[j] += x[j] − shift[j] (or x[j] when <paramref name="shift"/> is empty), squared when
    /// <paramref name="square"/>; in double lanes. Column statistics of a row-major matrix, one row at a time.</summary>
    internal static void AccumulateColumns(ReadOnlySpan<float> x, ReadOnlySpan<float> shift, Span<double> acc, bool square)
    {
        int n = x.Length, i = 0;
        bool shifted = !shift.IsEmpty;
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float sr = ref MemoryMarshal.GetReference(shift);
        ref double ar = ref MemoryMarshal.GetReference(acc);
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i <= n - 16; i += 16)
            {
                var v = Vector512.LoadUnsafe(ref xr, (nuint)i);
                if (shifted) v -= Vector512.LoadUnsafe(ref sr, (nuint)i);
                var (lo, hi) = Vector512.Widen(v);
                if (square) { lo *= lo; hi *= hi; }
                (Vector512.LoadUnsafe(ref ar, (nuint)i) + lo).StoreUnsafe(ref ar, (nuint)i);
                (Vector512.LoadUnsafe(ref ar, (nuint)(i + 8)) + hi).StoreUnsafe(ref ar, (nuint)(i + 8));
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= n - 8; i += 8)
            {
                var v = Vector256.LoadUnsafe(ref xr, (nuint)i);
                if (shifted) v -= Vector256.LoadUnsafe(ref sr, (nuint)i);
                var (lo, hi) = Vector256.Widen(v);
                if (square) { lo *= lo; hi *= hi; }
                (Vector256.LoadUnsafe(ref ar, (nuint)i) + lo).StoreUnsafe(ref ar, (nuint)i);
                (Vector256.LoadUnsafe(ref ar, (nuint)(i + 4)) + hi).StoreUnsafe(ref ar, (nuint)(i + 4));
            }
        }
        for (; i < n; i++)
        {
            double v = shifted ? x[i] - shift[i] : x[i];
            acc[i] += square ? v * v : v;
        }
    }

    /// <summary>sg[j] += g[j] and sgx[j] += g[j]·(x[j] − shift[j]), in double lanes (batch norm's backward over [N, C]).</summary>
    internal static void AccumulateColumnGradSums(ReadOnlySpan<float> g, ReadOnlySpan<float> x, ReadOnlySpan<float> shift, Span<double> sg, Span<double> sgx)
    {
        int n = x.Length, i = 0;
        ref float gr = ref MemoryMarshal.GetReference(g);
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float sr = ref MemoryMarshal.GetReference(shift);
        ref double ar = ref MemoryMarshal.GetReference(sg);
        ref double br = ref MemoryMarshal.GetReference(sgx);
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i <= n - 16; i += 16)
            {
                var (g0, g1) = Vector512.Widen(Vector512.LoadUnsafe(ref gr, (nuint)i));
                var (d0, d1) = Vector512.Widen(Vector512.LoadUnsafe(ref xr, (nuint)i) - Vector512.LoadUnsafe(ref sr, (nuint)i));
                (Vector512.LoadUnsafe(ref ar, (nuint)i) + g0).StoreUnsafe(ref ar, (nuint)i);
                (Vector512.LoadUnsafe(ref ar, (nuint)(i + 8)) + g1).StoreUnsafe(ref ar, (nuint)(i + 8));
                Vector512.FusedMultiplyAdd(g0, d0, Vector512.LoadUnsafe(ref br, (nuint)i)).StoreUnsafe(ref br, (nuint)i);
                Vector512.FusedMultiplyAdd(g1, d1, Vector512.LoadUnsafe(ref br, (nuint)(i + 8))).StoreUnsafe(ref br, (nuint)(i + 8));
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= n - 8; i += 8)
            {
                var (g0, g1) = Vector256.Widen(Vector256.LoadUnsafe(ref gr, (nuint)i));
                var (d0, d1) = Vector256.Widen(Vector256.LoadUnsafe(ref xr, (nuint)i) - Vector256.LoadUnsafe(ref sr, (nuint)i));
                (Vector256.LoadUnsafe(ref ar, (nuint)i) + g0).StoreUnsafe(ref ar, (nuint)i);
                (Vector256.LoadUnsafe(ref ar, (nuint)(i + 4)) + g1).StoreUnsafe(ref ar, (nuint)(i + 4));
                Vector256.FusedMultiplyAdd(g0, d0, Vector256.LoadUnsafe(ref br, (nuint)i)).StoreUnsafe(ref br, (nuint)i);
                Vector256.FusedMultiplyAdd(g1, d1, Vector256.LoadUnsafe(ref br, (nuint)(i + 4))).StoreUnsafe(ref br, (nuint)(i + 4));
            }
        }
        for (; i < n; i++) { double gv = g[i]; sg[i] += gv; sgx[i] += gv * (double)(x[i] - shift[i]); }
    }

    /// <summary>Σ g and Σ g·(x − mean) in one pass.</summary>
    internal static (double SumG, double SumGX) SumAndCenteredDot(ReadOnlySpan<float> g, ReadOnlySpan<float> x, float mean)
    {
        double sg = 0, sgx = 0;
        for (int b = 0; b < x.Length; b += Block)
        {
            int n = Math.Min(Block, x.Length - b);
            ref float gr = ref MemoryMarshal.GetReference(g.Slice(b, n));
            ref float xr = ref MemoryMarshal.GetReference(x.Slice(b, n));
            int i = 0;
            float ag = 0, agx = 0;
            if (Vector512.IsHardwareAccelerated && n >= 16)
            {
                var m = Vector512.Create(mean);
                var a1 = Vector512<float>.Zero; var a2 = Vector512<float>.Zero;
                for (; i <= n - 16; i += 16)
                {
                    var gv = Vector512.LoadUnsafe(ref gr, (nuint)i);
                    a1 += gv;
                    a2 = Vector512.FusedMultiplyAdd(gv, Vector512.LoadUnsafe(ref xr, (nuint)i) - m, a2);
                }
                ag = Vector512.Sum(a1); agx = Vector512.Sum(a2);
            }
            else if (Vector256.IsHardwareAccelerated && n >= 8)
            {
                var m = Vector256.Create(mean);
                var a1 = Vector256<float>.Zero; var a2 = Vector256<float>.Zero;
                for (; i <= n - 8; i += 8)
                {
                    var gv = Vector256.LoadUnsafe(ref gr, (nuint)i);
                    a1 += gv;
                    a2 = Vector256.FusedMultiplyAdd(gv, Vector256.LoadUnsafe(ref xr, (nuint)i) - m, a2);
                }
                ag = Vector256.Sum(a1); agx = Vector256.Sum(a2);
            }
            for (; i < n; i++) { float gv = Unsafe.Add(ref gr, i); ag += gv; agx += gv * (Unsafe.Add(ref xr, i) - mean); }
            sg += ag; sgx += agx;
        }
        return (sg, sgx);
    }

    /// <summary>Σ g·w and Σ g·w·(x − mean) in one pass (layer norm's backward with an elementwise weight).</summary>
    internal static (double SumGW, double SumGWX) WeightedSumAndCenteredDot(ReadOnlySpan<float> g, ReadOnlySpan<float> w, ReadOnlySpan<float> x, float mean)
    {
        double s1 = 0, s2 = 0;
        for (int b = 0; b < x.Length; b += Block)
        {
            int n = Math.Min(Block, x.Length - b);
            ref float gr = ref MemoryMarshal.GetReference(g.Slice(b, n));
            ref float wr = ref MemoryMarshal.GetReference(w.Slice(b, n));
            ref float xr = ref MemoryMarshal.GetReference(x.Slice(b, n));
            int i = 0;
            float a1s = 0, a2s = 0;
            if (Vector512.IsHardwareAccelerated && n >= 16)
            {
                var m = Vector512.Create(mean);
                var a1 = Vector512<float>.Zero; var a2 = Vector512<float>.Zero;
                for (; i <= n - 16; i += 16)
                {
                    var gw = Vector512.LoadUnsafe(ref gr, (nuint)i) * Vector512.LoadUnsafe(ref wr, (nuint)i);
                    a1 += gw;
                    a2 = Vector512.FusedMultiplyAdd(gw, Vector512.LoadUnsafe(ref xr, (nuint)i) - m, a2);
                }
                a1s = Vector512.Sum(a1); a2s = Vector512.Sum(a2);
            }
            else if (Vector256.IsHardwareAccelerated && n >= 8)
            {
                var m = Vector256.Create(mean);
                var a1 = Vector256<float>.Zero; var a2 = Vector256<float>.Zero;
                for (; i <= n - 8; i += 8)
                {
                    var gw = Vector256.LoadUnsafe(ref gr, (nuint)i) * Vector256.LoadUnsafe(ref wr, (nuint)i);
                    a1 += gw;
                    a2 = Vector256.FusedMultiplyAdd(gw, Vector256.LoadUnsafe(ref xr, (nuint)i) - m, a2);
                }
                a1s = Vector256.Sum(a1); a2s = Vector256.Sum(a2);
            }
            for (; i < n; i++)
            {
                float gw = Unsafe.Add(ref gr, i) * Unsafe.Add(ref wr, i);
                a1s += gw; a2s += gw * (Unsafe.Add(ref xr, i) - mean);
            }
            s1 += a1s; s2 += a2s;
        }
        return (s1, s2);
    }

    /// <summary>Σ exp(x − shift), accumulated in double across blocks.</summary>
    internal static double SumExpShifted(ReadOnlySpan<float> x, float shift)
    {
        double total = 0;
        Span<float> tmp = stackalloc float[Block];
        for (int b = 0; b < x.Length; b += Block)
        {
            int n = Math.Min(Block, x.Length - b);
            var t = tmp[..n];
            VectorMap.Map(new ExpShift(shift), x.Slice(b, n), t);
            total += System.Numerics.Tensors.TensorPrimitives.Sum(t);
        }
        return total;
    }
}

/// <summary>x ↦ exp(x − shift).</summary>
internal readonly struct ExpShift(float shift) : IVectorOp1
{
    public float Invoke(float x) => MathF.Exp(x - shift);
    public Vector512<float> Invoke(Vector512<float> x) => Vector512.Exp(x - Vector512.Create(shift));
    public Vector256<float> Invoke(Vector256<float> x) => Vector256.Exp(x - Vector256.Create(shift));
    public Vector128<float> Invoke(Vector128<float> x) => Vector128.Exp(x - Vector128.Create(shift));
}

/// <summary>x ↦ scale·exp(x − shift).</summary>
internal readonly struct ScaledExpShift(float shift, float scale) : IVectorOp1
{
    public float Invoke(float x) => MathF.Exp(x - shift) * scale;
    public Vector512<float> Invoke(Vector512<float> x) => Vector512.Exp(x - Vector512.Create(shift)) * scale;
    public Vector256<float> Invoke(Vector256<float> x) => Vector256.Exp(x - Vector256.Create(shift)) * scale;
    public Vector128<float> Invoke(Vector128<float> x) => Vector128.Exp(x - Vector128.Create(shift)) * scale;
}

/// <summary>(g, y) ↦ g − exp(y)·s (log-softmax backward for a row whose upstream gradient sums to s).</summary>
internal readonly struct LogSoftmaxBackwardOp(float s) : IVectorOp2
{
    public float Invoke(float g, float y) => g - MathF.Exp(y) * s;
    public Vector512<float> Invoke(Vector512<float> g, Vector512<float> y) => g - Vector512.Exp(y) * s;
    public Vector256<float> Invoke(Vector256<float> g, Vector256<float> y) => g - Vector256.Exp(y) * s;
    public Vector128<float> Invoke(Vector128<float> g, Vector128<float> y) => g - Vector128.Exp(y) * s;
}

/// <summary>(g, y) ↦ y·(g − d) (softmax backward for a row with d = Σ g·y).</summary>
internal readonly struct SoftmaxBackwardOp(float d) : IVectorOp2
{
    public float Invoke(float g, float y) => y * (g - d);
    public Vector512<float> Invoke(Vector512<float> g, Vector512<float> y) => y * (g - Vector512.Create(d));
    public Vector256<float> Invoke(Vector256<float> g, Vector256<float> y) => y * (g - Vector256.Create(d));
    public Vector128<float> Invoke(Vector128<float> g, Vector128<float> y) => y * (g - Vector128.Create(d));
}

// The normalisations centre with a two-part mean hi + lo (hi the float nearest the double mean, lo the float nearest
// the rest): x − hi is exact for x near hi (Sterbenz), so inputs with a large offset keep their precision.

/// <summary>x ↦ (x − hi − lo)·scale + shift (normalisation with per-channel scalars).</summary>
internal readonly struct CenteredAffine(float hi, float lo, float scale, float shift) : IVectorOp1
{
    public float Invoke(float x) => MathF.FusedMultiplyAdd(x - hi - lo, scale, shift);
    public Vector512<float> Invoke(Vector512<float> x) => Vector512.FusedMultiplyAdd(x - Vector512.Create(hi) - Vector512.Create(lo), Vector512.Create(scale), Vector512.Create(shift));
    public Vector256<float> Invoke(Vector256<float> x) => Vector256.FusedMultiplyAdd(x - Vector256.Create(hi) - Vector256.Create(lo), Vector256.Create(scale), Vector256.Create(shift));
    public Vector128<float> Invoke(Vector128<float> x) => Vector128.FusedMultiplyAdd(x - Vector128.Create(hi) - Vector128.Create(lo), Vector128.Create(scale), Vector128.Create(shift));
}

/// <summary><see cref="CenteredAffine"/> followed by <see cref="ReluForward"/> in the same pass (batch norm then relu):
/// the same bits as the two maps one after the other.</summary>
internal readonly struct CenteredAffineRelu(float hi, float lo, float scale, float shift) : IVectorOp1
{
    private readonly CenteredAffine _affine = new(hi, lo, scale, shift);
    public float Invoke(float x) => new ReluForward().Invoke(_affine.Invoke(x));
    public Vector512<float> Invoke(Vector512<float> x) => new ReluForward().Invoke(_affine.Invoke(x));
    public Vector256<float> Invoke(Vector256<float> x) => new ReluForward().Invoke(_affine.Invoke(x));
    public Vector128<float> Invoke(Vector128<float> x) => new ReluForward().Invoke(_affine.Invoke(x));
}

/// <summary>(x, w, b) ↦ (x − hi − lo)·invStd·w + b (layer norm with elementwise affine).</summary>
internal readonly struct CenteredAffineElementwise(float hi, float lo, float invStd) : IVectorOp3
{
    public float Invoke(float x, float w, float b) => MathF.FusedMultiplyAdd((x - hi - lo) * invStd, w, b);
    public Vector512<float> Invoke(Vector512<float> x, Vector512<float> w, Vector512<float> b) => Vector512.FusedMultiplyAdd((x - Vector512.Create(hi) - Vector512.Create(lo)) * invStd, w, b);
    public Vector256<float> Invoke(Vector256<float> x, Vector256<float> w, Vector256<float> b) => Vector256.FusedMultiplyAdd((x - Vector256.Create(hi) - Vector256.Create(lo)) * invStd, w, b);
    public Vector128<float> Invoke(Vector128<float> x, Vector128<float> w, Vector128<float> b) => Vector128.FusedMultiplyAdd((x - Vector128.Create(hi) - Vector128.Create(lo)) * invStd, w, b);
}

/// <summary>(g, x) ↦ k·(a·g + c1·(x − hi − lo) + c0): the normalisations' input gradient with per-channel scalars. The
/// terms cancel at the scale of g, before the (possibly large) factor k = 1/σ is applied.</summary>
internal readonly struct NormInputGrad(float k, float a, float c1, float hi, float lo, float c0) : IVectorOp2
{
    public float Invoke(float g, float x) => MathF.FusedMultiplyAdd(g, a, MathF.FusedMultiplyAdd(x - hi - lo, c1, c0)) * k;
    public Vector512<float> Invoke(Vector512<float> g, Vector512<float> x) =>
        Vector512.FusedMultiplyAdd(g, Vector512.Create(a), Vector512.FusedMultiplyAdd(x - Vector512.Create(hi) - Vector512.Create(lo), Vector512.Create(c1), Vector512.Create(c0))) * k;
    public Vector256<float> Invoke(Vector256<float> g, Vector256<float> x) =>
        Vector256.FusedMultiplyAdd(g, Vector256.Create(a), Vector256.FusedMultiplyAdd(x - Vector256.Create(hi) - Vector256.Create(lo), Vector256.Create(c1), Vector256.Create(c0))) * k;

    public Vector128<float> Invoke(Vector128<float> g, Vector128<float> x) =>
        Vector128.FusedMultiplyAdd(g, Vector128.Create(a), Vector128.FusedMultiplyAdd(x - Vector128.Create(hi) - Vector128.Create(lo), Vector128.Create(c1), Vector128.Create(c0))) * k;
}

/// <summary>(g, w, x) ↦ k·(g·w + c1·(x − hi − lo) + c0): layer norm's input gradient with an elementwise weight
/// (g·w rounded as in <see cref="Reductions.WeightedSumAndCenteredDot"/>, so exact cancellations stay exact).</summary>
internal readonly struct NormInputGradElementwise(float k, float c1, float hi, float lo, float c0) : IVectorOp3
{
    public float Invoke(float g, float w, float x) => (g * w + MathF.FusedMultiplyAdd(x - hi - lo, c1, c0)) * k;
    public Vector512<float> Invoke(Vector512<float> g, Vector512<float> w, Vector512<float> x) =>
        (g * w + Vector512.FusedMultiplyAdd(x - Vector512.Create(hi) - Vector512.Create(lo), Vector512.Create(c1), Vector512.Create(c0))) * k;
    public Vector256<float> Invoke(Vector256<float> g, Vector256<float> w, Vector256<float> x) =>
        (g * w + Vector256.FusedMultiplyAdd(x - Vector256.Create(hi) - Vector256.Create(lo), Vector256.Create(c1), Vector256.Create(c0))) * k;

    public Vector128<float> Invoke(Vector128<float> g, Vector128<float> w, Vector128<float> x) =>
        (g * w + Vector128.FusedMultiplyAdd(x - Vector128.Create(hi) - Vector128.Create(lo), Vector128.Create(c1), Vector128.Create(c0))) * k;
}
