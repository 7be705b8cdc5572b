using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Learner.Nn.Kernels;

/// <summary>The rungs of the engine's vector ladder: the widest one the hardware accelerates is used, narrower ones
/// take what is shorter than a vector, and the scalar form runs where no width is accelerated.</summary>
public enum SimdWidth
{
    /// <summary>Plain float code.</summary>
    Scalar = 0,
    /// <summary>Vector128 (SSE, AdvSimd).</summary>
    V128 = 128,
    /// <summary>Vector256 (AVX2).</summary>
    V256 = 256,
    /// <summary>Vector512 (AVX-512).</summary>
    V512 = 512,
}

/// <summary>
/// The engine's SIMD layer for reductions: double-accumulated sums, dot products and squared distances, the NaN-free
/// row maximum and the finiteness scan, each over the full 512/256/128/scalar ladder. Elementwise maps are in <see cref="VectorMap"/>. Every
/// entry point takes the widest rung to use (tests force each one; callers use <see cref="Best"/>); a span shorter than
/// that rung's vector steps down the ladder.
/// </summary>
/// <remarks>Sums are accumulated in two double vectors (the low and high halves of each float vector), added, then
/// reduced; the remainder is added in order in double. The order depends on the rung, so machines with different widths
/// agree to double rounding, not bit for bit; one machine always takes the same path.</remarks>
public static class Simd
{
    /// <summary>The widest rung this machine accelerates.</summary>
    public static SimdWidth Best { get; } =
        Vector512.IsHardwareAccelerated ? SimdWidth.V512 :
        Vector256.IsHardwareAccelerated ? SimdWidth.V256 :
        Vector128.IsHardwareAccelerated ? SimdWidth.V128 : SimdWidth.Scalar;

    /// <summary>The rungs this machine accelerates, widest first, then scalar.</summary>
    public static IEnumerable<SimdWidth> Supported()
    {
        if (Vector512.IsHardwareAccelerated) yield return SimdWidth.V512;
        if (Vector256.IsHardwareAccelerated) yield return SimdWidth.V256;
        if (Vector128.IsHardwareAccelerated) yield return SimdWidth.V128;
        yield return SimdWidth.Scalar;
    }

    /// <summary>The rung a span of <paramref name="length"/> floats takes when at most <paramref name="width"/> is allowed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static SimdWidth Rung(SimdWidth width, int length) =>
        width >= SimdWidth.V512 && length >= 16 && Vector512.IsHardwareAccelerated ? SimdWidth.V512 :
        width >= SimdWidth.V256 && length >= 8 && Vector256.IsHardwareAccelerated ? SimdWidth.V256 :
        width >= SimdWidth.V128 && length >= 4 && Vector128.IsHardwareAccelerated ? SimdWidth.V128 : SimdWidth.Scalar;

    /// <summary>Σ x, accumulated in double.</summary>
    public static double Sum(ReadOnlySpan<float> x) => Sum(x, Best);

    /// <summary>Σ x, accumulated in double, using at most <paramref name="width"/>.</summary>
    public static double Sum(ReadOnlySpan<float> x, SimdWidth width) => Reduce(new SumOp(), x, x, width);

    /// <summary>Σ x·y over x's length, accumulated in double.</summary>
    public static double Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y) => Dot(x, y, Best);

    /// <summary>Σ x·y, accumulated in double, using at most <paramref name="width"/>.</summary>
    public static double Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y, SimdWidth width)
    {
        CheckLengths(x, y);
        return Reduce(new DotOp(), x, y, width);
    }

    /// <summary>Σ (x − y)², accumulated in double (no cancellation from expanding the square).</summary>
    public static double SquaredDistance(ReadOnlySpan<float> x, ReadOnlySpan<float> y) => SquaredDistance(x, y, Best);

    /// <summary>Σ (x − y)², accumulated in double, using at most <paramref name="width"/>.</summary>
    public static double SquaredDistance(ReadOnlySpan<float> x, ReadOnlySpan<float> y, SimdWidth width)
    {
        CheckLengths(x, y);
        return Reduce(new SquaredDistanceOp(), x, y, width);
    }

    /// <summary>The index of the first NaN or infinity in <paramref name="x"/>, or −1 when every value is finite (the
    /// engine's one finiteness scan: tensors, optimizers, payloads and objective inputs all use it).</summary>
    public static int IndexOfNonFinite(ReadOnlySpan<float> x) => IndexOfNonFinite(x, Best);

    /// <summary><see cref="IndexOfNonFinite(ReadOnlySpan{float})"/> using at most <paramref name="width"/>: vectors whose
    /// exponent bits are all set (NaN, ±∞) are located a vector at a time, the element within it by the scalar test.</summary>
    public static int IndexOfNonFinite(ReadOnlySpan<float> x, SimdWidth width)
    {
        int i = 0, n = x.Length;
        ref float r = ref MemoryMarshal.GetReference(x);
        switch (Rung(width, n))
        {
            case SimdWidth.V512:
            {
                var exp = Vector512.Create(0x7F800000u);
                for (; i <= n - 16; i += 16)
                    if (Vector512.EqualsAny(Vector512.LoadUnsafe(ref r, (nuint)i).AsUInt32() & exp, exp)) break;
                break;
            }
            case SimdWidth.V256:
            {
                var exp = Vector256.Create(0x7F800000u);
                for (; i <= n - 8; i += 8)
                    if (Vector256.EqualsAny(Vector256.LoadUnsafe(ref r, (nuint)i).AsUInt32() & exp, exp)) break;
                break;
            }
            case SimdWidth.V128:
            {
                var exp = Vector128.Create(0x7F800000u);
                for (; i <= n - 4; i += 4)
                    if (Vector128.EqualsAny(Vector128.LoadUnsafe(ref r, (nuint)i).AsUInt32() & exp, exp)) break;
                break;
            }
        }
        for (; i < n; i++) if (!float.IsFinite(Unsafe.Add(ref r, i))) return i;
        return -1;
    }

    /// <summary>max x over values without NaN (−∞ allowed; an empty span gives −∞). Faster than a NaN-propagating maximum.</summary>
    public static float MaxNoNaN(ReadOnlySpan<float> x) => MaxNoNaN(x, Best);

    /// <summary><see cref="MaxNoNaN(ReadOnlySpan{float})"/> using at most <paramref name="width"/>.</summary>
    public static float MaxNoNaN(ReadOnlySpan<float> x, SimdWidth width)
    {
        int i = 0, n = x.Length;
        float m = float.NegativeInfinity;
        ref float r = ref MemoryMarshal.GetReference(x);
        switch (Rung(width, n))
        {
            case SimdWidth.V512:
            {
                var a0 = Vector512.Create(float.NegativeInfinity); var a1 = a0; var a2 = a0; var a3 = a0;
                for (; i <= n - 64; i += 64)
                {
                    a0 = Vector512.MaxNative(a0, Vector512.LoadUnsafe(ref r, (nuint)i));
                    a1 = Vector512.MaxNative(a1, Vector512.LoadUnsafe(ref r, (nuint)(i + 16)));
                    a2 = Vector512.MaxNative(a2, Vector512.LoadUnsafe(ref r, (nuint)(i + 32)));
                    a3 = Vector512.MaxNative(a3, Vector512.LoadUnsafe(ref r, (nuint)(i + 48)));
                }
                for (; i <= n - 16; i += 16) a0 = Vector512.MaxNative(a0, Vector512.LoadUnsafe(ref r, (nuint)i));
                var a = Vector512.MaxNative(Vector512.MaxNative(a0, a1), Vector512.MaxNative(a2, a3));
                for (int k = 0; k < 16; k++) m = Math.Max(m, a.GetElement(k));
                break;
            }
            case SimdWidth.V256:
            {
                var a0 = Vector256.Create(float.NegativeInfinity); var a1 = a0;
                for (; i <= n - 16; i += 16)
                {
                    a0 = Vector256.MaxNative(a0, Vector256.LoadUnsafe(ref r, (nuint)i));
                    a1 = Vector256.MaxNative(a1, Vector256.LoadUnsafe(ref r, (nuint)(i + 8)));
                }
                for (; i <= n - 8; i += 8) a0 = Vector256.MaxNative(a0, Vector256.LoadUnsafe(ref r, (nuint)i));
                var a = Vector256.MaxNative(a0, a1);
                for (int k = 0; k < 8; k++) m = Math.Max(m, a.GetElement(k));
                break;
            }
            case SimdWidth.V128:
            {
                var a = Vector128.Create(float.NegativeInfinity);
                for (; i <= n - 4; i += 4) a = Vector128.MaxNative(a, Vector128.LoadUnsafe(ref r, (nuint)i));
                for (int k = 0; k < 4; k++) m = Math.Max(m, a.GetElement(k));
                break;
            }
        }
        for (; i < n; i++) if (x[i] > m) m = x[i];
        return m;
    }

    /// <summary>A loop body at every rung: positions i … i + lanes − 1 (or one element for the scalar form), and the
    /// remainder after the last whole vector.</summary>
    internal interface ILoopBody
    {
        void At512(nint i);
        void At256(nint i);
        void At128(nint i);
        void At1(nint i);
        /// <summary>The last <paramref name="count"/> (&lt; <paramref name="lanes"/>) elements from <paramref name="i"/>, after
        /// whole vectors of <paramref name="lanes"/> floats: a padded vector (so every element is computed by the same
        /// code) or the scalar form per element.</summary>
        void Tail(nint i, int count, int lanes);
    }

    /// <summary>The engine's one loop driver, for every arity of map and the optimizers' fused updates: runs
    /// <paramref name="body"/> over [0, <paramref name="n"/>) in whole vectors of the widest accelerated rung up to
    /// <paramref name="width"/>, then its <see cref="ILoopBody.Tail"/>; the scalar form where no rung is allowed. For
    /// bodies whose operations are correctly rounded per element (no fused multiply–add, no approximations) the result
    /// does not depend on the rung.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Loop<TBody>(ref TBody body, int n, SimdWidth width) where TBody : struct, ILoopBody
    {
        nint i = 0;
        if (width >= SimdWidth.V512 && Vector512.IsHardwareAccelerated)
        {
            for (; i <= n - 16; i += 16) body.At512(i);
            if (i < n) body.Tail(i, (int)(n - i), 16);
        }
        else if (width >= SimdWidth.V256 && Vector256.IsHardwareAccelerated)
        {
            for (; i <= n - 8; i += 8) body.At256(i);
            if (i < n) body.Tail(i, (int)(n - i), 8);
        }
        else if (width >= SimdWidth.V128 && Vector128.IsHardwareAccelerated)
        {
            for (; i <= n - 4; i += 4) body.At128(i);
            if (i < n) body.Tail(i, (int)(n - i), 4);
        }
        else
            for (; i < n; i++) body.At1(i);
    }

    private static void CheckLengths(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        // Over x's length; y may be longer (a row of a wider buffer).
        if (y.Length < x.Length) throw new ArgumentException($"The second span ({y.Length} values) is shorter than the first ({x.Length}).");
    }

    // ------------------------------------------------------------------ the reduction driver

    /// <summary>A double-accumulated reduction term f(x, y), written once per width (the float halves are widened first).</summary>
    private interface IReduceOp
    {
        double Invoke(double x, double y);
        Vector128<double> Invoke(Vector128<double> x, Vector128<double> y, Vector128<double> acc);
        Vector256<double> Invoke(Vector256<double> x, Vector256<double> y, Vector256<double> acc);
        Vector512<double> Invoke(Vector512<double> x, Vector512<double> y, Vector512<double> acc);
    }

    private readonly struct SumOp : IReduceOp
    {
        public double Invoke(double x, double y) => x;
        public Vector128<double> Invoke(Vector128<double> x, Vector128<double> y, Vector128<double> acc) => acc + x;
        public Vector256<double> Invoke(Vector256<double> x, Vector256<double> y, Vector256<double> acc) => acc + x;
        public Vector512<double> Invoke(Vector512<double> x, Vector512<double> y, Vector512<double> acc) => acc + x;
    }

    private readonly struct DotOp : IReduceOp
    {
        public double Invoke(double x, double y) => x * y;
        public Vector128<double> Invoke(Vector128<double> x, Vector128<double> y, Vector128<double> acc) => Vector128.FusedMultiplyAdd(x, y, acc);
        public Vector256<double> Invoke(Vector256<double> x, Vector256<double> y, Vector256<double> acc) => Vector256.FusedMultiplyAdd(x, y, acc);
        public Vector512<double> Invoke(Vector512<double> x, Vector512<double> y, Vector512<double> acc) => Vector512.FusedMultiplyAdd(x, y, acc);
    }

    private readonly struct SquaredDistanceOp : IReduceOp
    {
        public double Invoke(double x, double y) { double d = x - y; return d * d; }
        public Vector128<double> Invoke(Vector128<double> x, Vector128<double> y, Vector128<double> acc) { var d = x - y; return Vector128.FusedMultiplyAdd(d, d, acc); }
        public Vector256<double> Invoke(Vector256<double> x, Vector256<double> y, Vector256<double> acc) { var d = x - y; return Vector256.FusedMultiplyAdd(d, d, acc); }
        public Vector512<double> Invoke(Vector512<double> x, Vector512<double> y, Vector512<double> acc) { var d = x - y; return Vector512.FusedMultiplyAdd(d, d, acc); }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double Reduce<TOp>(TOp op, ReadOnlySpan<float> x, ReadOnlySpan<float> y, SimdWidth width) where TOp : struct, IReduceOp
    {
        int i = 0, n = x.Length;
        double s = 0;
        ref float rx = ref MemoryMarshal.GetReference(x);
        ref float ry = ref MemoryMarshal.GetReference(y);
        switch (Rung(width, n))
        {
            case SimdWidth.V512:
            {
                var acc0 = Vector512<double>.Zero; var acc1 = Vector512<double>.Zero;
                for (; i <= n - 16; i += 16)
                {
                    var (xl, xh) = Vector512.Widen(Vector512.LoadUnsafe(ref rx, (nuint)i));
                    var (yl, yh) = Vector512.Widen(Vector512.LoadUnsafe(ref ry, (nuint)i));
                    acc0 = op.Invoke(xl, yl, acc0); acc1 = op.Invoke(xh, yh, acc1);
                }
                s = Vector512.Sum(acc0 + acc1);
                break;
            }
            case SimdWidth.V256:
            {
                var acc0 = Vector256<double>.Zero; var acc1 = Vector256<double>.Zero;
                for (; i <= n - 8; i += 8)
                {
                    var (xl, xh) = Vector256.Widen(Vector256.LoadUnsafe(ref rx, (nuint)i));
                    var (yl, yh) = Vector256.Widen(Vector256.LoadUnsafe(ref ry, (nuint)i));
                    acc0 = op.Invoke(xl, yl, acc0); acc1 = op.Invoke(xh, yh, acc1);
                }
                s = Vector256.Sum(acc0 + acc1);
                break;
            }
            case SimdWidth.V128:
            {
                var acc0 = Vector128<double>.Zero; var acc1 = Vector128<double>.Zero;
                for (; i <= n - 4; i += 4)
                {
                    var (xl, xh) = Vector128.Widen(Vector128.LoadUnsafe(ref rx, (nuint)i));
                    var (yl, yh) = Vector128.Widen(Vector128.LoadUnsafe(ref ry, (nuint)i));
                    acc0 = op.Invoke(xl, yl, acc0); acc1 = op.Invoke(xh, yh, acc1);
                }
                s = Vector128.Sum(acc0 + acc1);
                break;
            }
        }
        for (; i < n; i++) s += op.Invoke(Unsafe.Add(ref rx, i), Unsafe.Add(ref ry, i));
        return s;
    }
}
