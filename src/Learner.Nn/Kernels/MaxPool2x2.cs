using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Learner.Nn.Kernels;

/// <summary>
/// Max pooling with the common 2×2, stride-2, unpadded window over H and W (depth window 1), one plane at a time, on
/// the 512/256/128-bit rungs with a scalar remainder. Every rung makes the scalar rule's comparisons in the same order —
/// top-left, then top-right, bottom-left, bottom-right, a later value winning when greater or NaN — so values and
/// arg-maxes are bit-identical to it on every rung. The four window corners of 16 (8, 4) outputs are split out of two
/// input rows by even/odd lane permutes; the backward pass writes every input element of the covered rows (the
/// gradient at the arg-max, zero elsewhere), so it does not clear them first.
/// </summary>
internal static class MaxPool2x2
{
    /// <summary>y = the window maxima of one plane x [D, H, W] (y [D, H/2, W/2]).</summary>
    internal static void Forward(in ConvGeometry g, ReadOnlySpan<float> x, Span<float> y)
    {
        int w = g.W, plane = g.H * g.W, ow = g.OW;
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float yr = ref MemoryMarshal.GetReference(y);
        for (int od = 0; od < g.OD; od++)
            for (int oh = 0; oh < g.OH; oh++)
            {
                ref float top = ref Unsafe.Add(ref xr, od * plane + 2 * oh * w);
                ref float bottom = ref Unsafe.Add(ref top, w);
                ref float dst = ref Unsafe.Add(ref yr, (od * g.OH + oh) * ow);
                int j = 0;
                if (Avx512F.IsSupported)
                    for (; j + 16 <= ow; j += 16)
                    {
                        Corners512(ref Unsafe.Add(ref top, 2 * j), ref Unsafe.Add(ref bottom, 2 * j), out var a, out var b, out var c, out var d);
                        Winner(a, b, c, d, out _, out _, out _, out _).StoreUnsafe(ref Unsafe.Add(ref dst, j));
                    }
                if (Avx.IsSupported)
                    for (; j + 8 <= ow; j += 8)
                    {
                        Corners256(ref Unsafe.Add(ref top, 2 * j), ref Unsafe.Add(ref bottom, 2 * j), out var a, out var b, out var c, out var d);
                        Winner(a, b, c, d, out _, out _, out _, out _).StoreUnsafe(ref Unsafe.Add(ref dst, j));
                    }
                if (Sse.IsSupported)
                    for (; j + 4 <= ow; j += 4)
                    {
                        Corners128(ref Unsafe.Add(ref top, 2 * j), ref Unsafe.Add(ref bottom, 2 * j), out var a, out var b, out var c, out var d);
                        Winner(a, b, c, d, out _, out _, out _, out _).StoreUnsafe(ref Unsafe.Add(ref dst, j));
                    }
                for (; j < ow; j++)
                    Unsafe.Add(ref dst, j) = ScalarWinner(ref Unsafe.Add(ref top, 2 * j), w, out _);
            }
    }

    /// <summary>gx = each output gradient at its window's arg-max, zero elsewhere, for one plane (gx fully written,
    /// the rows and columns outside every window included).</summary>
    internal static void Backward(in ConvGeometry g, ReadOnlySpan<float> x, ReadOnlySpan<float> gy, Span<float> gx)
    {
        int w = g.W, plane = g.H * g.W, ow = g.OW;
        // An odd last row or column lies outside every window; clear the plane so that those stay zero.
        if ((g.H & 1) != 0 || (g.W & 1) != 0) gx.Clear();
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float gyr = ref MemoryMarshal.GetReference(gy);
        ref float gxr = ref MemoryMarshal.GetReference(gx);
        for (int od = 0; od < g.OD; od++)
            for (int oh = 0; oh < g.OH; oh++)
            {
                int rowAt = od * plane + 2 * oh * w;
                ref float top = ref Unsafe.Add(ref xr, rowAt);
                ref float bottom = ref Unsafe.Add(ref top, w);
                ref float gTop = ref Unsafe.Add(ref gxr, rowAt);
                ref float gBottom = ref Unsafe.Add(ref gTop, w);
                ref float src = ref Unsafe.Add(ref gyr, (od * g.OH + oh) * ow);
                int j = 0;
                if (Avx512F.IsSupported)
                {
                    var lo = Vector512.Create(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
                    var hi = Vector512.Create(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
                    for (; j + 16 <= ow; j += 16)
                    {
                        Corners512(ref Unsafe.Add(ref top, 2 * j), ref Unsafe.Add(ref bottom, 2 * j), out var a, out var b, out var c, out var d);
                        Winner(a, b, c, d, out var wa, out var wb, out var wc, out var wd);
                        var v = Vector512.LoadUnsafe(ref Unsafe.Add(ref src, j));
                        Vector512<float> ga = v & wa, gb = v & wb, gc = v & wc, gd = v & wd;
                        Avx512F.PermuteVar16x32x2(ga, lo, gb).StoreUnsafe(ref Unsafe.Add(ref gTop, 2 * j));
                        Avx512F.PermuteVar16x32x2(ga, hi, gb).StoreUnsafe(ref Unsafe.Add(ref gTop, 2 * j + 16));
                        Avx512F.PermuteVar16x32x2(gc, lo, gd).StoreUnsafe(ref Unsafe.Add(ref gBottom, 2 * j));
                        Avx512F.PermuteVar16x32x2(gc, hi, gd).StoreUnsafe(ref Unsafe.Add(ref gBottom, 2 * j + 16));
                    }
                }
                if (Avx.IsSupported)
                    for (; j + 8 <= ow; j += 8)
                    {
                        Corners256(ref Unsafe.Add(ref top, 2 * j), ref Unsafe.Add(ref bottom, 2 * j), out var a, out var b, out var c, out var d);
                        Winner(a, b, c, d, out var wa, out var wb, out var wc, out var wd);
                        var v = Vector256.LoadUnsafe(ref Unsafe.Add(ref src, j));
                        Interleave256(v & wa, v & wb, ref Unsafe.Add(ref gTop, 2 * j));
                        Interleave256(v & wc, v & wd, ref Unsafe.Add(ref gBottom, 2 * j));
                    }
                if (Sse.IsSupported)
                    for (; j + 4 <= ow; j += 4)
                    {
                        Corners128(ref Unsafe.Add(ref top, 2 * j), ref Unsafe.Add(ref bottom, 2 * j), out var a, out var b, out var c, out var d);
                        Winner(a, b, c, d, out var wa, out var wb, out var wc, out var wd);
                        var v = Vector128.LoadUnsafe(ref Unsafe.Add(ref src, j));
                        Vector128<float> ga = v & wa, gb = v & wb, gc = v & wc, gd = v & wd;
                        Sse.UnpackLow(ga, gb).StoreUnsafe(ref Unsafe.Add(ref gTop, 2 * j));
                        Sse.UnpackHigh(ga, gb).StoreUnsafe(ref Unsafe.Add(ref gTop, 2 * j + 4));
                        Sse.UnpackLow(gc, gd).StoreUnsafe(ref Unsafe.Add(ref gBottom, 2 * j));
                        Sse.UnpackHigh(gc, gd).StoreUnsafe(ref Unsafe.Add(ref gBottom, 2 * j + 4));
                    }
                for (; j < ow; j++)
                {
                    ScalarWinner(ref Unsafe.Add(ref top, 2 * j), w, out int corner);
                    float v = Unsafe.Add(ref src, j);
                    Unsafe.Add(ref gTop, 2 * j) = corner == 0 ? v : 0f;
                    Unsafe.Add(ref gTop, 2 * j + 1) = corner == 1 ? v : 0f;
                    Unsafe.Add(ref gBottom, 2 * j) = corner == 2 ? v : 0f;
                    Unsafe.Add(ref gBottom, 2 * j + 1) = corner == 3 ? v : 0f;
                }
            }
    }

    /// <summary>The scalar rule on one window whose top-left element is <paramref name="tl"/>; <paramref name="corner"/>
    /// is the arg-max (0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float ScalarWinner(ref float tl, int w, out int corner)
    {
        float m = tl;
        corner = 0;
        float v = Unsafe.Add(ref tl, 1); if (v > m || float.IsNaN(v)) { m = v; corner = 1; }
        v = Unsafe.Add(ref tl, w); if (v > m || float.IsNaN(v)) { m = v; corner = 2; }
        v = Unsafe.Add(ref tl, w + 1); if (v > m || float.IsNaN(v)) { m = v; corner = 3; }
        return m;
    }

    /// <summary>The maxima of four corner vectors by the scalar rule, with one all-ones lane mask per corner marking
    /// the lanes it wins.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Winner(Vector512<float> a, Vector512<float> b, Vector512<float> c, Vector512<float> d,
        out Vector512<float> wa, out Vector512<float> wb, out Vector512<float> wc, out Vector512<float> wd)
    {
        var m = a;
        wb = Vector512.GreaterThan(b, m) | ~Vector512.Equals(b, b);
        m = Vector512.ConditionalSelect(wb, b, m);
        wc = Vector512.GreaterThan(c, m) | ~Vector512.Equals(c, c);
        m = Vector512.ConditionalSelect(wc, c, m);
        wd = Vector512.GreaterThan(d, m) | ~Vector512.Equals(d, d);
        m = Vector512.ConditionalSelect(wd, d, m);
        wc = Vector512.AndNot(wc, wd);
        wb = Vector512.AndNot(Vector512.AndNot(wb, wc), wd);
        wa = ~(wb | wc | wd);
        return m;
    }

    /// <inheritdoc cref="Winner(Vector512{float}, Vector512{float}, Vector512{float}, Vector512{float}, out Vector512{float}, out Vector512{float}, out Vector512{float}, out Vector512{float})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Winner(Vector256<float> a, Vector256<float> b, Vector256<float> c, Vector256<float> d,
        out Vector256<float> wa, out Vector256<float> wb, out Vector256<float> wc, out Vector256<float> wd)
    {
        var m = a;
        wb = Vector256.GreaterThan(b, m) | ~Vector256.Equals(b, b);
        m = Vector256.ConditionalSelect(wb, b, m);
        wc = Vector256.GreaterThan(c, m) | ~Vector256.Equals(c, c);
        m = Vector256.ConditionalSelect(wc, c, m);
        wd = Vector256.GreaterThan(d, m) | ~Vector256.Equals(d, d);
        m = Vector256.ConditionalSelect(wd, d, m);
        wc = Vector256.AndNot(wc, wd);
        wb = Vector256.AndNot(Vector256.AndNot(wb, wc), wd);
        wa = ~(wb | wc | wd);
        return m;
    }

    /// <inheritdoc cref="Winner(Vector512{float}, Vector512{float}, Vector512{float}, Vector512{float}, out Vector512{float}, out Vector512{float}, out Vector512{float}, out Vector512{float})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Winner(Vector128<float> a, Vector128<float> b, Vector128<float> c, Vector128<float> d,
        out Vector128<float> wa, out Vector128<float> wb, out Vector128<float> wc, out Vector128<float> wd)
    {
        var m = a;
        wb = Vector128.GreaterThan(b, m) | ~Vector128.Equals(b, b);
        m = Vector128.ConditionalSelect(wb, b, m);
        wc = Vector128.GreaterThan(c, m) | ~Vector128.Equals(c, c);
        m = Vector128.ConditionalSelect(wc, c, m);
        wd = Vector128.GreaterThan(d, m) | ~Vector128.Equals(d, d);
        m = Vector128.ConditionalSelect(wd, d, m);
        wc = Vector128.AndNot(wc, wd);
        wb = Vector128.AndNot(Vector128.AndNot(wb, wc), wd);
        wa = ~(wb | wc | wd);
        return m;
    }

    /// <summary>The four corners of 16 windows: even and odd lanes of 32 floats of the top and of the bottom row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Corners512(ref float top, ref float bottom, out Vector512<float> a, out Vector512<float> b, out Vector512<float> c, out Vector512<float> d)
    {
        var even = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        var odd = Vector512.Create(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
        var t0 = Vector512.LoadUnsafe(ref top);
        var t1 = Vector512.LoadUnsafe(ref top, 16);
        var b0 = Vector512.LoadUnsafe(ref bottom);
        var b1 = Vector512.LoadUnsafe(ref bottom, 16);
        a = Avx512F.PermuteVar16x32x2(t0, even, t1);
        b = Avx512F.PermuteVar16x32x2(t0, odd, t1);
        c = Avx512F.PermuteVar16x32x2(b0, even, b1);
        d = Avx512F.PermuteVar16x32x2(b0, odd, b1);
    }

    /// <summary>The four corners of 8 windows (16 floats of each row).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Corners256(ref float top, ref float bottom, out Vector256<float> a, out Vector256<float> b, out Vector256<float> c, out Vector256<float> d)
    {
        Split256(Vector256.LoadUnsafe(ref top), Vector256.LoadUnsafe(ref top, 8), out a, out b);
        Split256(Vector256.LoadUnsafe(ref bottom), Vector256.LoadUnsafe(ref bottom, 8), out c, out d);
    }

    /// <summary>Even and odd lanes of [x | y]: the in-lane shuffles give [x0 x2 y0 y2 | x4 x6 y4 y6], the 64-bit
    /// permute puts the halves in order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Split256(Vector256<float> x, Vector256<float> y, out Vector256<float> even, out Vector256<float> odd)
    {
        even = Avx2.IsSupported
            ? Avx2.Permute4x64(Avx.Shuffle(x, y, 0b10_00_10_00).AsDouble(), 0b11_01_10_00).AsSingle()
            : Vector256.Create(x[0], x[2], x[4], x[6], y[0], y[2], y[4], y[6]);
        odd = Avx2.IsSupported
            ? Avx2.Permute4x64(Avx.Shuffle(x, y, 0b11_01_11_01).AsDouble(), 0b11_01_10_00).AsSingle()
            : Vector256.Create(x[1], x[3], x[5], x[7], y[1], y[3], y[5], y[7]);
    }

    /// <summary>Writes [e0 o0 e1 o1 … e7 o7] (16 floats) at <paramref name="dst"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Interleave256(Vector256<float> e, Vector256<float> o, ref float dst)
    {
        var lo = Avx.UnpackLow(e, o);   // e0 o0 e1 o1 | e4 o4 e5 o5
        var hi = Avx.UnpackHigh(e, o);  // e2 o2 e3 o3 | e6 o6 e7 o7
        Avx.Permute2x128(lo, hi, 0x20).StoreUnsafe(ref dst);
        Avx.Permute2x128(lo, hi, 0x31).StoreUnsafe(ref dst, 8);
    }

    /// <summary>The four corners of 4 windows (8 floats of each row).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Corners128(ref float top, ref float bottom, out Vector128<float> a, out Vector128<float> b, out Vector128<float> c, out Vector128<float> d)
    {
        var t0 = Vector128.LoadUnsafe(ref top);
        var t1 = Vector128.LoadUnsafe(ref top, 4);
        var b0 = Vector128.LoadUnsafe(ref bottom);
        var b1 = Vector128.LoadUnsafe(ref bottom, 4);
        a = Sse.Shuffle(t0, t1, 0b10_00_10_00);
        b = Sse.Shuffle(t0, t1, 0b11_01_11_01);
        c = Sse.Shuffle(b0, b1, 0b10_00_10_00);
        d = Sse.Shuffle(b0, b1, 0b11_01_11_01);
    }
}
