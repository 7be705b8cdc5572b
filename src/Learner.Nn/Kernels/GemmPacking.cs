using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Learner.Nn.Kernels;

/// <summary>
/// Packing of GEMM operands into the contiguous micro-panel layout the micro-kernels stream through
/// (see <see cref="IGemmMicroKernel"/>). Ragged edges are padded with zeros, so the kernels always run full tiles.
/// All four transpose combinations are absorbed here: the kernels only ever see packed op(A) and op(B).
/// </summary>
internal static unsafe class GemmPacking
{
    /// <summary>
    /// Packs the block <c>op(A)[i0 .. i0+mc, p0 .. p0+kc]</c> into ⌈mc/mr⌉ micro-panels of <paramref name="mr"/> rows,
    /// panel <c>q</c> starting at <c>dst + q·mr·kc</c>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void PackA(bool transA, float* a, nint lda, int i0, int mc, int p0, int kc, int mr, float* dst)
    {
        if (transA)
        {
            // A is stored k×m: column p of op(A) is row p of A, contiguous in i — the layout PackRows packs for B
            // (its panels of nr columns are these panels of mr rows), with its row groups: one p's values for every
            // panel are read in one sequential run instead of mr floats from each of kc rows lda apart per panel.
            PackRows(a, lda, p0, kc, i0, mc, mr, dst, null);
            return;
        }
        for (int ip = 0; ip < mc; ip += mr)
        {
            int rows = Math.Min(mr, mc - ip);
            float* panel = dst + (nint)ip * kc;
            // A is stored m×k: gather one value from each of the slab's rows per step (a transpose).
            float* src = a + (nint)(i0 + ip) * lda + p0;
            if (rows == mr) TransposeRows(src, lda, mr, kc, panel);
            else
            {
                TransposeRows(src, lda, rows, kc, panel, mr);
                for (int p = 0; p < kc; p++) Im2Col.Zero(ref panel[(nint)p * mr + rows], mr - rows);
            }
        }
    }

    /// <summary>
    /// Packs the block <c>op(B)[p0 .. p0+kc, j0 .. j0+nc]</c> into ⌈nc/nr⌉ micro-panels of <paramref name="nr"/> columns,
    /// panel <c>q</c> starting at <c>dst + q·nr·kc</c>. B's stored row <c>r</c> starts at <c>b + r·ldb</c>, or, when
    /// <paramref name="rows"/> is given, at <c>b + rows[r]</c> (see <see cref="GemmProblem.BRows"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void PackB(bool transB, float* b, nint ldb, int p0, int kc, int j0, int nc, int nr, float* dst, nint* rows = null)
    {
        if (!transB)
        {
            PackRows(b, ldb, p0, kc, j0, nc, nr, dst, rows);
            return;
        }
        for (int jp = 0; jp < nc; jp += nr)
        {
            int cols = Math.Min(nr, nc - jp);
            float* panel = dst + (nint)jp * kc;
            // B is stored n×k: column j of op(B) is row j of B; gather across rows (a transpose).
            if (rows == null) TransposeRows(b + (nint)(j0 + jp) * ldb + p0, ldb, cols, kc, panel, nr);
            else TransposeRows(b + p0, rows + j0 + jp, cols, kc, panel, nr);
            // The ragged panel's missing columns, with inlined vector stores (a weight gradient's last panel:
            // 72 taps leave 24 of 32 columns to clear on every one of its kc rows).
            if (cols < nr)
                for (int p = 0; p < kc; p++) Im2Col.Zero(ref panel[(nint)p * nr + cols], nr - cols);
        }
    }

    /// <summary>Rows of B packed together: each group's rows are read left to right across every panel.</summary>
    private const int RowGroup = 8;

    /// <summary>
    /// <see cref="PackB"/> for B stored k×n (row p of op(B) contiguous), <see cref="RowGroup"/> rows at a time: for each
    /// group, every panel receives the group's rows in turn. Packing one panel's kc rows at a time instead reads one
    /// cache line from each of kc rows a leading dimension apart — on a 4 KiB-strided B every line of a panel falls in
    /// the same L1 set, and the next panel fetches the neighbouring lines again from L2 or L3 (measured on Zen 4:
    /// 4.7 % of a 1024³ product, one thread). Here the group's rows are read sequentially, as streams the prefetchers
    /// follow, and each panel is written in contiguous runs of a group's rows. The same values land in the same places.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackRows(float* b, nint ldb, int p0, int kc, int j0, int nc, int nr, float* dst, nint* rows)
    {
        for (int pg = 0; pg < kc; pg += RowGroup)
        {
            int pe = Math.Min(kc, pg + RowGroup);
            for (int jp = 0; jp < nc; jp += nr)
            {
                int cols = Math.Min(nr, nc - jp);
                float* panel = dst + (nint)jp * kc;
                for (int p = pg; p < pe; p++)
                {
                    float* src = (rows == null ? b + (nint)(p0 + p) * ldb : b + rows[p0 + p]) + j0 + jp;
                    CopyPadded(src, panel + (nint)p * nr, cols, nr);
                }
            }
        }
    }

    /// <summary>Copies <paramref name="count"/> floats and zero-fills up to <paramref name="width"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyPadded(float* src, float* dst, int count, int width)
    {
        int j = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; j <= count - 16; j += 16) Vector512.Store(Vector512.Load(src + j), dst + j);
        if (Vector256.IsHardwareAccelerated)
            for (; j <= count - 8; j += 8) Vector256.Store(Vector256.Load(src + j), dst + j);
        // The AVX2 tiles' 6- and 4-row panels (and every count on 128-bit-only targets): 128-bit moves, then one 64-bit move,
        // rather than a float at a time.
        if (Vector128.IsHardwareAccelerated)
            for (; j <= count - 4; j += 4) Vector128.Store(Vector128.Load(src + j), dst + j);
        if (j <= count - 2) { Unsafe.WriteUnaligned(dst + j, Unsafe.ReadUnaligned<long>(src + j)); j += 2; }
        for (; j < count; j++) dst[j] = src[j];
        for (; j < width; j++) dst[j] = 0f;
    }

    /// <summary>
    /// Writes <c>dst[p·stride + r] = src[r·ld + p]</c> for <c>r &lt; rows</c>, <c>p &lt; depth</c>: the transpose of a
    /// rows×depth row-major block into a depth×stride block (stride = rows when omitted).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TransposeRows(float* src, nint ld, int rows, int depth, float* dst, int stride = -1)
    {
        if (stride < 0) stride = rows;
        int r = 0;
        if (Avx.IsSupported)
            for (; r <= rows - 8; r += 8)
            {
                float* s = src + r * ld;
                float* d = dst + r;
                int p = 0;
                for (; p <= depth - 8; p += 8) Transpose8x8(s + p, ld, d + (nint)p * stride, stride);
                for (; p < depth; p++)
                    for (int q = 0; q < 8; q++) d[(nint)p * stride + q] = s[q * ld + p];
            }
        if (Sse.IsSupported)
        {
            // The AVX2 tiles' 6- and 4-row panels (and the 8-row blocks' remainders): four rows, then two, in 128-bit moves.
            for (; r <= rows - 4; r += 4)
            {
                float* s = src + r * ld;
                Transpose4Rows(s, s + ld, s + 2 * ld, s + 3 * ld, depth, dst + r, stride);
            }
            for (; r <= rows - 2; r += 2)
            {
                float* s = src + r * ld;
                Transpose2Rows(s, s + ld, depth, dst + r, stride);
            }
        }
        for (; r < rows; r++)
        {
            float* s = src + r * ld;
            float* d = dst + r;
            for (int p = 0; p < depth; p++) d[(nint)p * stride] = s[p];
        }
    }

    /// <summary>
    /// <see cref="TransposeRows(float*, nint, int, int, float*, int)"/> for rows at arbitrary offsets: writes
    /// <c>dst[p·stride + r] = src[rows[r] + p]</c>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TransposeRows(float* src, nint* rows, int count, int depth, float* dst, int stride)
    {
        int r = 0;
        if (Avx.IsSupported)
            for (; r <= count - 8; r += 8)
            {
                float* d = dst + r;
                nint* o = rows + r;
                int p = 0;
                for (; p <= depth - 8; p += 8)
                {
                    float* s = src + p;
                    Transpose8x8(Vector256.Load(s + o[0]), Vector256.Load(s + o[1]), Vector256.Load(s + o[2]), Vector256.Load(s + o[3]),
                        Vector256.Load(s + o[4]), Vector256.Load(s + o[5]), Vector256.Load(s + o[6]), Vector256.Load(s + o[7]), d + (nint)p * stride, stride);
                }
                for (; p < depth; p++)
                    for (int q = 0; q < 8; q++) d[(nint)p * stride + q] = src[o[q] + p];
            }
        if (Sse.IsSupported)
        {
            for (; r <= count - 4; r += 4)
                Transpose4Rows(src + rows[r], src + rows[r + 1], src + rows[r + 2], src + rows[r + 3], depth, dst + r, stride);
            for (; r <= count - 2; r += 2)
                Transpose2Rows(src + rows[r], src + rows[r + 1], depth, dst + r, stride);
        }
        for (; r < count; r++)
        {
            float* s = src + rows[r];
            float* d = dst + r;
            for (int p = 0; p < depth; p++) d[(nint)p * stride] = s[p];
        }
    }

    /// <summary>Writes <c>dst[p·stride + q] = s_q[p]</c> for the four rows <c>s_0 … s_3</c> and <c>p &lt; depth</c>:
    /// 4 × 4 blocks transposed in SSE registers (unpack, then move the halves), the last <c>depth mod 4</c> one by one.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose4Rows(float* s0, float* s1, float* s2, float* s3, int depth, float* dst, nint stride)
    {
        int p = 0;
        for (; p <= depth - 4; p += 4)
        {
            var r0 = Sse.LoadVector128(s0 + p);
            var r1 = Sse.LoadVector128(s1 + p);
            var r2 = Sse.LoadVector128(s2 + p);
            var r3 = Sse.LoadVector128(s3 + p);
            var t0 = Sse.UnpackLow(r0, r1);   // r0[0] r1[0] r0[1] r1[1]
            var t1 = Sse.UnpackLow(r2, r3);   // r2[0] r3[0] r2[1] r3[1]
            var t2 = Sse.UnpackHigh(r0, r1);  // r0[2] r1[2] r0[3] r1[3]
            var t3 = Sse.UnpackHigh(r2, r3);
            float* d = dst + (nint)p * stride;
            Sse.Store(d, Sse.MoveLowToHigh(t0, t1));
            Sse.Store(d + stride, Sse.MoveHighToLow(t1, t0));
            Sse.Store(d + 2 * stride, Sse.MoveLowToHigh(t2, t3));
            Sse.Store(d + 3 * stride, Sse.MoveHighToLow(t3, t2));
        }
        for (; p < depth; p++)
        {
            float* d = dst + (nint)p * stride;
            d[0] = s0[p]; d[1] = s1[p]; d[2] = s2[p]; d[3] = s3[p];
        }
    }

    /// <summary>Writes <c>dst[p·stride + q] = s_q[p]</c> for the two rows <c>s_0, s_1</c>: four steps of p per pair of
    /// loads, each step's two values one 64-bit store.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose2Rows(float* s0, float* s1, int depth, float* dst, nint stride)
    {
        int p = 0;
        for (; p <= depth - 4; p += 4)
        {
            var r0 = Sse.LoadVector128(s0 + p);
            var r1 = Sse.LoadVector128(s1 + p);
            var lo = Sse.UnpackLow(r0, r1);   // r0[0] r1[0] r0[1] r1[1]
            var hi = Sse.UnpackHigh(r0, r1);  // r0[2] r1[2] r0[3] r1[3]
            float* d = dst + (nint)p * stride;
            Sse.StoreLow(d, lo);
            Sse.StoreHigh(d + stride, lo);
            Sse.StoreLow(d + 2 * stride, hi);
            Sse.StoreHigh(d + 3 * stride, hi);
        }
        for (; p < depth; p++)
        {
            float* d = dst + (nint)p * stride;
            d[0] = s0[p]; d[1] = s1[p];
        }
    }

    /// <summary>Transposes an 8×8 block with AVX: <c>dst[p·dstStride + q] = src[q·ld + p]</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(float* src, nint ld, float* dst, nint dstStride) =>
        Transpose8x8(Vector256.Load(src), Vector256.Load(src + ld), Vector256.Load(src + 2 * ld), Vector256.Load(src + 3 * ld),
            Vector256.Load(src + 4 * ld), Vector256.Load(src + 5 * ld), Vector256.Load(src + 6 * ld), Vector256.Load(src + 7 * ld), dst, dstStride);

    /// <summary>Writes the transpose of the 8×8 block whose rows are <paramref name="r0"/> … <paramref name="r7"/>:
    /// <c>dst[p·dstStride + q] = r_q[p]</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(Vector256<float> r0, Vector256<float> r1, Vector256<float> r2, Vector256<float> r3,
        Vector256<float> r4, Vector256<float> r5, Vector256<float> r6, Vector256<float> r7, float* dst, nint dstStride)
    {
        var t0 = Avx.UnpackLow(r0, r1);
        var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3);
        var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5);
        var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7);
        var t7 = Avx.UnpackHigh(r6, r7);
        var u0 = Avx.Shuffle(t0, t2, 0x44);
        var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44);
        var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44);
        var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44);
        var u7 = Avx.Shuffle(t5, t7, 0xEE);
        Vector256.Store(Avx.Permute2x128(u0, u4, 0x20), dst);
        Vector256.Store(Avx.Permute2x128(u1, u5, 0x20), dst + dstStride);
        Vector256.Store(Avx.Permute2x128(u2, u6, 0x20), dst + 2 * dstStride);
        Vector256.Store(Avx.Permute2x128(u3, u7, 0x20), dst + 3 * dstStride);
        Vector256.Store(Avx.Permute2x128(u0, u4, 0x31), dst + 4 * dstStride);
        Vector256.Store(Avx.Permute2x128(u1, u5, 0x31), dst + 5 * dstStride);
        Vector256.Store(Avx.Permute2x128(u2, u6, 0x31), dst + 6 * dstStride);
        Vector256.Store(Avx.Permute2x128(u3, u7, 0x31), dst + 7 * dstStride);
    }
}
