using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace Learner.Nn.Kernels;

/// <summary>
/// Unfolds convolution windows of one sample into a matrix (im2col / vol2col) and folds such a matrix back
/// with accumulation (col2im), over a range of output positions so large volumes can be processed in tiles.
/// </summary>
/// <remarks>
/// The matrix has one row per (channel, kd, kh, kw) — <see cref="ConvGeometry.K"/> rows, grouped channels being
/// consecutive row blocks — and one column per output position in the tile (row-major over (od, oh, ow)); rows are
/// <c>ld</c> apart, so the matrices of several samples can be laid side by side for one batched GEMM, and a channel
/// range can be unfolded or folded on its own (parts of one sample on different threads).
/// Where the stride along W is 1, rows are moved with span copies / vector adds.
/// </remarks>
internal static class Im2Col
{
    /// <summary>Writes the window matrix of output positions [<paramref name="p0"/>, p0 + <paramref name="cols"/>) of one sample.</summary>
    /// <param name="g">Geometry.</param>
    /// <param name="x">One sample, [C, D, H, W].</param>
    /// <param name="col">Destination, K × cols.</param>
    /// <param name="p0">First output position.</param>
    /// <param name="cols">Number of output positions.</param>
    /// <param name="ld">Distance between two rows of <paramref name="col"/> (≥ cols; several samples' matrices can sit side by side).</param>
    /// <param name="c0">First input channel whose rows are written (rows c0·kernel volume on).</param>
    /// <param name="c1">End of the channel range.</param>
    internal static void Unfold(in ConvGeometry g, ReadOnlySpan<float> x, Span<float> col, int p0, int cols, int ld, int c0, int c1)
    {
        int inSpatial = g.InSpatial, plane = g.OH * g.OW;
        int od0 = p0 / plane, rem = p0 % plane, oh0 = rem / g.OW, ow0 = rem % g.OW;
        ref float xr = ref MemoryMarshal.GetReference(x);
        int r = c0 * g.KernelVolume;
        for (int c = c0; c < c1; c++)
        {
            int cBase = c * inSpatial;
            for (int kd = 0; kd < g.KD; kd++)
            {
                int offD = kd * g.DD - g.PD;
                for (int kh = 0; kh < g.KH; kh++)
                {
                    int offH = kh * g.DH - g.PH;
                    for (int kw = 0; kw < g.KW; kw++, r++)
                    {
                        int offW = kw * g.DW - g.PW;
                        var (wLo, wHi) = ConvGeometry.ValidRange(offW, g.SW, g.W, g.OW);
                        Span<float> dst = col.Slice(r * ld, cols);
                        int od = od0, oh = oh0, ow = ow0, j = 0;
                        while (j < cols)
                        {
                            int seg = Math.Min(g.OW - ow, cols - j);
                            int id = od * g.SD + offD, ih = oh * g.SH + offH;
                            Span<float> d = dst.Slice(j, seg);
                            int lo = Math.Max(ow, wLo), hi = Math.Min(ow + seg, wHi);
                            ref float dRef = ref MemoryMarshal.GetReference(d);
                            if ((uint)id >= (uint)g.D || (uint)ih >= (uint)g.H || hi <= lo) Zero(ref dRef, seg);
                            else
                            {
                                if (lo > ow) Zero(ref dRef, lo - ow);
                                if (hi < ow + seg) Zero(ref Unsafe.Add(ref dRef, hi - ow), ow + seg - hi);
                                int rowBase = cBase + (id * g.H + ih) * g.W + offW;
                                if (g.SW == 1)
                                    Copy(ref Unsafe.Add(ref xr, rowBase + lo), ref Unsafe.Add(ref dRef, lo - ow), hi - lo);
                                else if (g.SW == 2)
                                    GatherStride2(ref xr, x.Length, rowBase, ref dRef, ow, lo, hi);
                                else
                                {
                                    int s = g.SW;
                                    for (int o = lo; o < hi; o++)
                                        Unsafe.Add(ref dRef, o - ow) = Unsafe.Add(ref xr, rowBase + o * s);
                                }
                            }
                            j += seg; ow = 0;
                            if (++oh == g.OH) { oh = 0; od++; }
                        }
                    }
                }
            }
        }
    }

    /// <summary>Copies <paramref name="length"/> floats; inlined vector moves beat a memmove call on the short rows of im2col.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Copy(ref float src, ref float dst, int length)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i <= length - 16; i += 16) Vector512.LoadUnsafe(ref src, (nuint)i).StoreUnsafe(ref dst, (nuint)i);
        if (Vector256.IsHardwareAccelerated)
            for (; i <= length - 8; i += 8) Vector256.LoadUnsafe(ref src, (nuint)i).StoreUnsafe(ref dst, (nuint)i);
        if (Vector128.IsHardwareAccelerated)
            for (; i <= length - 4; i += 4) Vector128.LoadUnsafe(ref src, (nuint)i).StoreUnsafe(ref dst, (nuint)i);
        for (; i < length; i++) Unsafe.Add(ref dst, i) = Unsafe.Add(ref src, i);
    }

    /// <summary>Copies <paramref name="rows"/> rows of <paramref name="length"/> floats, <paramref name="srcStride"/> and
    /// <paramref name="dstStride"/> apart: a plane into (or out of) the interior of a padded plane in one call, where a
    /// call per row of a small feature map cost more than its moves. Rows of 16 floats (16 × 16 maps) move as one
    /// 512-bit vector each.</summary>
    internal static void CopyRows(ref float src, int srcStride, ref float dst, int dstStride, int rows, int length)
    {
        if (length == 16 && Vector512.IsHardwareAccelerated)
        {
            for (int r = 0; r < rows; r++)
                Vector512.LoadUnsafe(ref src, (nuint)(r * srcStride)).StoreUnsafe(ref dst, (nuint)(r * dstStride));
            return;
        }
        for (int r = 0; r < rows; r++) Copy(ref Unsafe.Add(ref src, r * srcStride), ref Unsafe.Add(ref dst, r * dstStride), length);
    }

    /// <summary>Zeroes <paramref name="length"/> floats with inlined vector stores.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Zero(ref float dst, int length)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i <= length - 16; i += 16) Vector512<float>.Zero.StoreUnsafe(ref dst, (nuint)i);
        if (Vector256.IsHardwareAccelerated)
            for (; i <= length - 8; i += 8) Vector256<float>.Zero.StoreUnsafe(ref dst, (nuint)i);
        if (Vector128.IsHardwareAccelerated)
            for (; i <= length - 4; i += 4) Vector128<float>.Zero.StoreUnsafe(ref dst, (nuint)i);
        for (; i < length; i++) Unsafe.Add(ref dst, i) = 0f;
    }

    /// <summary>dst[i] += src[i] for <paramref name="length"/> floats, with inlined vector adds.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void AddTo(ref float src, ref float dst, int length)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i <= length - 16; i += 16)
                (Vector512.LoadUnsafe(ref dst, (nuint)i) + Vector512.LoadUnsafe(ref src, (nuint)i)).StoreUnsafe(ref dst, (nuint)i);
        if (Vector256.IsHardwareAccelerated)
            for (; i <= length - 8; i += 8)
                (Vector256.LoadUnsafe(ref dst, (nuint)i) + Vector256.LoadUnsafe(ref src, (nuint)i)).StoreUnsafe(ref dst, (nuint)i);
        if (Vector128.IsHardwareAccelerated)
            for (; i <= length - 4; i += 4)
                (Vector128.LoadUnsafe(ref dst, (nuint)i) + Vector128.LoadUnsafe(ref src, (nuint)i)).StoreUnsafe(ref dst, (nuint)i);
        for (; i < length; i++) Unsafe.Add(ref dst, i) += Unsafe.Add(ref src, i);
    }

    /// <summary>
    /// pad[rowBase + 2·o] += row[o] for o &lt; <paramref name="count"/>: the stride-2 half of col2im. Vector paths
    /// interleave the row with zeros and add whole vectors, so the odd elements between get +0, which changes no bit
    /// (a sum that starts from +0 is never −0); they stay inside the first <paramref name="padLength"/> floats of
    /// <paramref name="pad"/> (one channel, owned by the calling thread), and the tail runs scalar.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void AddStride2(ref float row, ref float pad, int padLength, int rowBase, int count)
    {
        int o = 0;
        if (Avx512F.IsSupported)
        {
            var lo = Vector512.Create(0, 16, 1, 16, 2, 16, 3, 16, 4, 16, 5, 16, 6, 16, 7, 16);
            var hi = Vector512.Create(8, 16, 9, 16, 10, 16, 11, 16, 12, 16, 13, 16, 14, 16, 15, 16);
            for (; o + 16 <= count && rowBase + 2 * o + 32 <= padLength; o += 16)
            {
                var v = Vector512.LoadUnsafe(ref row, (nuint)o);
                ref float dst = ref Unsafe.Add(ref pad, rowBase + 2 * o);
                (Vector512.LoadUnsafe(ref dst) + Avx512F.PermuteVar16x32x2(v, lo, Vector512<float>.Zero)).StoreUnsafe(ref dst);
                (Vector512.LoadUnsafe(ref dst, 16) + Avx512F.PermuteVar16x32x2(v, hi, Vector512<float>.Zero)).StoreUnsafe(ref dst, 16);
            }
        }
        if (Avx.IsSupported)
            for (; o + 8 <= count && rowBase + 2 * o + 16 <= padLength; o += 8)
            {
                var v = Vector256.LoadUnsafe(ref row, (nuint)o);
                // [v0 0 v1 0 | v4 0 v5 0] and [v2 0 v3 0 | v6 0 v7 0] → [v0 0 … v3 0] and [v4 0 … v7 0]
                var a = Avx.UnpackLow(v, Vector256<float>.Zero);
                var b = Avx.UnpackHigh(v, Vector256<float>.Zero);
                ref float dst = ref Unsafe.Add(ref pad, rowBase + 2 * o);
                (Vector256.LoadUnsafe(ref dst) + Avx.Permute2x128(a, b, 0x20)).StoreUnsafe(ref dst);
                (Vector256.LoadUnsafe(ref dst, 8) + Avx.Permute2x128(a, b, 0x31)).StoreUnsafe(ref dst, 8);
            }
        if (Sse.IsSupported || AdvSimd.Arm64.IsSupported)
            for (; o + 4 <= count && rowBase + 2 * o + 8 <= padLength; o += 4)
            {
                var v = Vector128.LoadUnsafe(ref row, (nuint)o);
                var a = Sse.IsSupported ? Sse.UnpackLow(v, Vector128<float>.Zero) : AdvSimd.Arm64.ZipLow(v, Vector128<float>.Zero);
                var b = Sse.IsSupported ? Sse.UnpackHigh(v, Vector128<float>.Zero) : AdvSimd.Arm64.ZipHigh(v, Vector128<float>.Zero);
                ref float dst = ref Unsafe.Add(ref pad, rowBase + 2 * o);
                (Vector128.LoadUnsafe(ref dst) + a).StoreUnsafe(ref dst);
                (Vector128.LoadUnsafe(ref dst, 4) + b).StoreUnsafe(ref dst, 4);
            }
        for (; o < count; o++) Unsafe.Add(ref pad, rowBase + 2 * o) += Unsafe.Add(ref row, o);
    }

    /// <summary>dst[o − ow] = x[rowBase + 2·o] for o in [lo, hi): even lanes of two 16-float loads with AVX-512, scalar elsewhere.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void GatherStride2(ref float xr, int xLength, int rowBase, ref float dr, int ow, int lo, int hi)
    {
        int o = lo;
        if (Avx512F.IsSupported)
        {
            var even = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
            // Both loads stay inside x: the last one reads x[rowBase + 2·o + 16 .. rowBase + 2·o + 31].
            for (; o + 16 <= hi && rowBase + 2 * o + 32 <= xLength; o += 16)
            {
                ref float src = ref Unsafe.Add(ref xr, rowBase + 2 * o);
                var a = Vector512.LoadUnsafe(ref src);
                var b = Vector512.LoadUnsafe(ref src, 16);
                Avx512F.PermuteVar16x32x2(a, even, b).StoreUnsafe(ref Unsafe.Add(ref dr, o - ow));
            }
        }
        if (Avx2.IsSupported)
        {
            // Short rows (the 4- and 8-wide outputs of deep layers): even lanes of two 8-float loads, then of one.
            for (; o + 8 <= hi && rowBase + 2 * o + 16 <= xLength; o += 8)
            {
                ref float src = ref Unsafe.Add(ref xr, rowBase + 2 * o);
                var a = Vector256.LoadUnsafe(ref src);
                var b = Vector256.LoadUnsafe(ref src, 8);
                // [a0 a2 b0 b2 | a4 a6 b4 b6] → [a0 a2 a4 a6 b0 b2 b4 b6]
                var evens = Avx.Shuffle(a, b, 0b10_00_10_00);
                Avx2.Permute4x64(evens.AsDouble(), 0b11_01_10_00).AsSingle().StoreUnsafe(ref Unsafe.Add(ref dr, o - ow));
            }
            for (; o + 4 <= hi && rowBase + 2 * o + 8 <= xLength; o += 4)
            {
                var a = Vector256.LoadUnsafe(ref Unsafe.Add(ref xr, rowBase + 2 * o));
                var evens = Avx.Shuffle(a, a, 0b10_00_10_00);
                Avx2.Permute4x64(evens.AsDouble(), 0b11_01_10_00).AsSingle().GetLower().StoreUnsafe(ref Unsafe.Add(ref dr, o - ow));
            }
        }
        for (; o < hi; o++) Unsafe.Add(ref dr, o - ow) = Unsafe.Add(ref xr, rowBase + 2 * o);
    }

    /// <summary>Adds the window matrix of output positions [<paramref name="p0"/>, p0 + <paramref name="cols"/>) back into one sample's gradient.</summary>
    /// <param name="g">Geometry.</param>
    /// <param name="col">Source, K × cols.</param>
    /// <param name="dx">One sample's input gradient, [C, D, H, W]; accumulated into.</param>
    /// <param name="p0">First output position.</param>
    /// <param name="cols">Number of output positions.</param>
    /// <param name="ld">Distance between two rows of <paramref name="col"/>.</param>
    /// <param name="c0">First input channel accumulated into (its gradient only reads rows c0·kernel volume on).</param>
    /// <param name="c1">End of the channel range.</param>
    internal static void FoldAdd(in ConvGeometry g, ReadOnlySpan<float> col, Span<float> dx, int p0, int cols, int ld, int c0, int c1)
    {
        int inSpatial = g.InSpatial, plane = g.OH * g.OW;
        int od0 = p0 / plane, rem = p0 % plane, oh0 = rem / g.OW, ow0 = rem % g.OW;
        ref float xr = ref MemoryMarshal.GetReference(dx);
        int r = c0 * g.KernelVolume;
        for (int c = c0; c < c1; c++)
        {
            int cBase = c * inSpatial;
            for (int kd = 0; kd < g.KD; kd++)
            {
                int offD = kd * g.DD - g.PD;
                for (int kh = 0; kh < g.KH; kh++)
                {
                    int offH = kh * g.DH - g.PH;
                    for (int kw = 0; kw < g.KW; kw++, r++)
                    {
                        int offW = kw * g.DW - g.PW;
                        var (wLo, wHi) = ConvGeometry.ValidRange(offW, g.SW, g.W, g.OW);
                        ReadOnlySpan<float> src = col.Slice(r * ld, cols);
                        int od = od0, oh = oh0, ow = ow0, j = 0;
                        while (j < cols)
                        {
                            int seg = Math.Min(g.OW - ow, cols - j);
                            int id = od * g.SD + offD, ih = oh * g.SH + offH;
                            int lo = Math.Max(ow, wLo), hi = Math.Min(ow + seg, wHi);
                            if ((uint)id < (uint)g.D && (uint)ih < (uint)g.H && hi > lo)
                            {
                                int rowBase = cBase + (id * g.H + ih) * g.W + offW;
                                ReadOnlySpan<float> s = src.Slice(j + lo - ow, hi - lo);
                                if (g.SW == 1)
                                    AddTo(ref MemoryMarshal.GetReference(s), ref Unsafe.Add(ref xr, rowBase + lo), hi - lo);
                                else
                                {
                                    ref float sr = ref MemoryMarshal.GetReference(s);
                                    int st = g.SW;
                                    for (int o = lo; o < hi; o++)
                                        Unsafe.Add(ref xr, rowBase + o * st) += Unsafe.Add(ref sr, o - lo);
                                }
                            }
                            j += seg; ow = 0;
                            if (++oh == g.OH) { oh = 0; od++; }
                        }
                    }
                }
            }
        }
    }
}
