using System.Buffers;
using System.Numerics.Tensors;

namespace Learner.Nn.Kernels;

/// <summary>
/// Convolution forward and backward (2-D and 3-D, with stride, padding, dilation and groups) as a few large GEMMs: the
/// batch is cut into blocks (<see cref="ConvBlocks"/>) whose im2col matrices are laid side by side, so each block is one
/// GEMM per group for the output, one for the weight gradient and one for the input gradient, each split over the
/// cores by <see cref="Gemm"/> itself; unfolding, folding and the copies between the batch layout and the block
/// layout run per (sample, channel range) on the <see cref="WorkerPool"/>.
/// </summary>
/// <remarks>
/// Determinism: the blocks depend only on the geometry, never on the core count; the weight gradient is the blocks'
/// products accumulated into it in block order (the first overwrites), and the GEMM reduces every element in a fixed
/// order whatever its thread split. So forward and backward results are bit-identical for any number of threads.
/// </remarks>
internal static class ConvKernels
{
    /// <summary>Largest block matrix (im2col or output block), in elements (8 MiB of floats); see <see cref="ConvBlocks"/>.</summary>
    internal const int MaxColElements = 1 << 21;

    /// <summary>Below this many multiply-adds the copies around the GEMMs run on the calling thread.</summary>
    private const long MinParallelMacs = 1L << 20;

    internal static int Workers(int items, long macs) => Workers(items, macs, Environment.ProcessorCount);

    private static int Workers(int items, long macs, int threads) =>
        items < 2 || macs < MinParallelMacs ? 1 : Math.Min(items, Math.Max(1, threads));

    /// <summary>Runs <paramref name="body"/>(worker, start, end) over <paramref name="workers"/> contiguous ranges of [0, items).</summary>
    internal static void Partition(int items, int workers, Action<int, int, int> body)
    {
        if (workers <= 1) { body(0, 0, items); return; }
        WorkerPool.For(workers, w => body(w, (int)((long)items * w / workers), (int)((long)items * (w + 1) / workers)));
    }

    private static long Macs(in ConvGeometry g) => (long)g.N * g.Cout * g.Kg * g.OutSpatial;

    /// <summary>
    /// Runs <paramref name="body"/>(sample index in the block, c0, c1) over every sample of a block of
    /// <paramref name="samples"/>, each cut into channel ranges of [0, <paramref name="channels"/>) when there are fewer
    /// samples than threads. Each call touches its own sample and channels only, so the split changes no result.
    /// </summary>
    private static void ForSampleChannels(int samples, int channels, int threads, long macs, Action<int, int, int> body)
    {
        int parts = macs < MinParallelMacs ? 1 : Math.Max(1, threads);
        int split = samples >= parts ? 1 : Math.Min(channels, (parts + samples - 1) / samples);
        int items = samples * split;
        Partition(items, Math.Min(parts, items), (_, start, end) =>
        {
            for (int it = start; it < end; it++)
            {
                int j = it / split, s = it % split;
                body(j, (int)((long)channels * s / split), (int)((long)channels * (s + 1) / split));
            }
        });
    }

    private static void Sgemm(int threads, bool transA, bool transB, int m, int n, int k, ReadOnlySpan<float> a, int lda,
        ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc) =>
        Gemm.SgemmCore(Gemm.BestIsa, threads, transA, transB, m, n, k, 1f, a, lda, b, ldb, beta, c, ldc);

    /// <summary>y = conv(x, w) + b. Shapes: x [N, C, D, H, W], w [Cout, C/groups, kD, kH, kW], b [Cout], y [N, Cout, oD, oH, oW].</summary>
    internal static void Forward(ConvGeometry g, float[] x, float[] w, float[]? b, float[] y) =>
        Forward(g, x, w, b, y, Environment.ProcessorCount);

    /// <summary><see cref="Forward(ConvGeometry, float[], float[], float[], float[])"/> on at most <paramref name="threads"/> threads (tests vary it).</summary>
    internal static void Forward(ConvGeometry g, float[] x, float[] w, float[]? b, float[] y, int threads)
    {
        var blocks = new ConvBlocks(g);
        int coutG = g.CoutG, kg = g.Kg, os = g.OutSpatial;
        long macs = Macs(g);
        float[] col = ArrayPool<float>.Shared.Rent(g.K * blocks.MaxWidth);
        float[] yb = ArrayPool<float>.Shared.Rent(g.Cout * blocks.MaxWidth);
        try
        {
            for (int i = 0; i < blocks.Count; i++)
            {
                var blk = blocks[i];
                int ld = blk.Width;
                // A block of one whole sample has the batch layout already: the GEMM writes y, and the input is its own
                // im2col matrix when the convolution is pointwise.
                bool whole = blk.Samples == 1 && blk.Cols == os;
                float[] yDst = whole ? y : yb;
                int yOff = whole ? blk.N0 * g.Cout * os : 0;
                if (whole && b is not null)
                    for (int co = 0; co < g.Cout; co++) y.AsSpan(yOff + co * os, os).Fill(b[co]);
                bool direct = whole && g.IsPointwise;
                if (!direct) ForSampleChannels(blk.Samples, g.C, threads, macs, (j, c0, c1) => Unfold(g, x, col, blk, j, c0, c1));
                float[] src = direct ? x : col;
                int srcOff = direct ? blk.N0 * g.C * g.InSpatial : 0;
                for (int gr = 0; gr < g.Groups; gr++)
                    Sgemm(threads, false, false, coutG, ld, kg, w.AsSpan(gr * coutG * kg), kg, src.AsSpan(srcOff + gr * kg * ld), ld,
                        whole && b is not null ? 1f : 0f, yDst.AsSpan(yOff + gr * coutG * ld), ld);
                if (!whole) ForSampleChannels(blk.Samples, g.Cout, threads, macs, (j, c0, c1) =>
                {
                    int n = blk.N0 + j;
                    for (int co = c0; co < c1; co++)
                    {
                        ReadOnlySpan<float> src = yb.AsSpan(co * ld + j * blk.Cols, blk.Cols);
                        Span<float> dst = y.AsSpan((n * g.Cout + co) * os + blk.P0, blk.Cols);
                        if (b is null) src.CopyTo(dst);
                        else TensorPrimitives.Add(src, b[co], dst);
                    }
                });
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(col);
            ArrayPool<float>.Shared.Return(yb);
        }
    }

    /// <summary>Writes the im2col rows of channels [c0, c1) of sample <paramref name="j"/> of the block into its columns of <paramref name="col"/>.</summary>
    private static void Unfold(in ConvGeometry g, float[] x, float[] col, ConvBlock blk, int j, int c0, int c1)
    {
        int inS = g.InSpatial, ld = blk.Width;
        var xn = x.AsSpan((blk.N0 + j) * g.C * inS, g.C * inS);
        if (g.IsPointwise)
            for (int c = c0; c < c1; c++) xn.Slice(c * inS + blk.P0, blk.Cols).CopyTo(col.AsSpan(c * ld + j * blk.Cols, blk.Cols));
        else
            Im2Col.Unfold(g, xn, col.AsSpan(j * blk.Cols), blk.P0, blk.Cols, ld, c0, c1);
    }

    /// <summary>Gradients of a convolution from the output gradient <paramref name="gy"/> [N, Cout, oD, oH, oW].
    /// Each destination that is non-null is overwritten.</summary>
    internal static void Backward(ConvGeometry g, float[] gy, float[] x, float[] w, float[]? gx, float[]? gw, float[]? gb) =>
        Backward(g, gy, x, w, gx, gw, gb, Environment.ProcessorCount);

    /// <summary><see cref="Backward(ConvGeometry, float[], float[], float[], float[], float[], float[])"/> on at most <paramref name="threads"/> threads (tests vary it).</summary>
    internal static void Backward(ConvGeometry g, float[] gy, float[] x, float[] w, float[]? gx, float[]? gw, float[]? gb, int threads)
    {
        if (gb is not null) BiasGrad(g, gy, gb);
        if (gx is null && gw is null) return;
        var blocks = new ConvBlocks(g);
        int coutG = g.CoutG, kg = g.Kg, os = g.OutSpatial, inS = g.InSpatial;
        long macs = Macs(g);
        float[] col = ArrayPool<float>.Shared.Rent(g.K * blocks.MaxWidth);
        float[] gyb = ArrayPool<float>.Shared.Rent(g.Cout * blocks.MaxWidth);
        try
        {
            for (int i = 0; i < blocks.Count; i++)
            {
                var blk = blocks[i];
                int ld = blk.Width;
                // A block of one whole sample reads gy (and, when pointwise, x) in place; see Forward.
                bool whole = blk.Samples == 1 && blk.Cols == os, direct = whole && g.IsPointwise;
                float[] gys = whole ? gy : gyb;
                int gyOff = whole ? blk.N0 * g.Cout * os : 0;
                if (!whole)
                    ForSampleChannels(blk.Samples, g.Cout, threads, macs, (j, c0, c1) =>
                    {
                        int n = blk.N0 + j;
                        for (int co = c0; co < c1; co++)
                            gy.AsSpan((n * g.Cout + co) * os + blk.P0, blk.Cols).CopyTo(gyb.AsSpan(co * ld + j * blk.Cols, blk.Cols));
                    });
                if (gw is not null)
                {
                    if (!direct) ForSampleChannels(blk.Samples, g.C, threads, macs, (j, c0, c1) => Unfold(g, x, col, blk, j, c0, c1));
                    float[] src = direct ? x : col;
                    int srcOff = direct ? blk.N0 * g.C * inS : 0;
                    for (int gr = 0; gr < g.Groups; gr++)
                        Sgemm(threads, false, true, coutG, kg, ld, gys.AsSpan(gyOff + gr * coutG * ld), ld,
                            src.AsSpan(srcOff + gr * kg * ld), ld, i == 0 ? 0f : 1f, gw.AsSpan(gr * coutG * kg), kg);
                }
                if (gx is not null && direct)
                {
                    for (int gr = 0; gr < g.Groups; gr++)
                        Sgemm(threads, true, false, kg, ld, coutG, w.AsSpan(gr * coutG * kg), kg,
                            gys.AsSpan(gyOff + gr * coutG * ld), ld, 0f, gx.AsSpan(blk.N0 * g.C * inS + gr * kg * ld), ld);
                }
                else if (gx is not null)
                {
                    for (int gr = 0; gr < g.Groups; gr++)
                        Sgemm(threads, true, false, kg, ld, coutG, w.AsSpan(gr * coutG * kg), kg,
                            gys.AsSpan(gyOff + gr * coutG * ld), ld, 0f, col.AsSpan(gr * kg * ld), ld);
                    ForSampleChannels(blk.Samples, g.C, threads, macs, (j, c0, c1) =>
                    {
                        var gxn = gx.AsSpan((blk.N0 + j) * g.C * inS, g.C * inS);
                        if (blk.P0 == 0) gxn.Slice(c0 * inS, (c1 - c0) * inS).Clear();
                        if (g.IsPointwise)
                            for (int c = c0; c < c1; c++)
                                TensorPrimitives.Add(gxn.Slice(c * inS + blk.P0, blk.Cols), col.AsSpan(c * ld + j * blk.Cols, blk.Cols),
                                    gxn.Slice(c * inS + blk.P0, blk.Cols));
                        else
                            Im2Col.FoldAdd(g, col.AsSpan(j * blk.Cols), gxn, blk.P0, blk.Cols, ld, c0, c1);
                    });
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(col);
            ArrayPool<float>.Shared.Return(gyb);
        }
    }

    private static void BiasGrad(in ConvGeometry g, float[] gy, float[] gb)
    {
        int os = g.OutSpatial;
        for (int co = 0; co < g.Cout; co++)
        {
            double s = 0;
            for (int n = 0; n < g.N; n++) s += TensorPrimitives.Sum(gy.AsSpan((n * g.Cout + co) * os, os));
            gb[co] = (float)s;
        }
    }
}
