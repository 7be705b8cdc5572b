using System.Buffers;
using System.Numerics.Tensors;

namespace Learner.Nn.Kernels;

/// <summary>
/// Convolution forward and backward (2-D and 3-D, with stride, padding, dilation and groups) through
/// im2col + <see cref="Gemm.Sgemm"/>; pointwise (1×1, stride 1, no padding) convolutions are a plain GEMM on the
/// input. Work is split over the batch into a fixed number of contiguous ranges, each with its own pooled
/// workspace; weight-gradient partial sums are added in range order, so results are bit-identical run to run.
/// </summary>
internal static class ConvKernels
{
    /// <summary>Largest im2col tile, in elements (4 MiB of floats); bigger outputs are processed in column tiles.</summary>
    internal const int MaxColElements = 1 << 20;

    /// <summary>Below this many multiply-adds a convolution runs on the calling thread.</summary>
    private const long MinParallelMacs = 1L << 20;

    /// <summary>Number of output positions processed per im2col tile.</summary>
    internal static int TileColumns(in ConvGeometry g)
    {
        int os = g.OutSpatial;
        if ((long)g.K * os <= MaxColElements) return os;
        int t = Math.Max(16, MaxColElements / Math.Max(1, g.K) / 16 * 16);
        return Math.Min(t, os);
    }

    internal static int Workers(int items, long macs) =>
        items < 2 || macs < MinParallelMacs ? 1 : Math.Min(items, Environment.ProcessorCount);

    /// <summary>Runs <paramref name="body"/>(worker, start, end) over <paramref name="workers"/> contiguous ranges of [0, items).</summary>
    internal static void Partition(int items, int workers, Action<int, int, int> body)
    {
        if (workers <= 1) { body(0, 0, items); return; }
        WorkerPool.For(workers, w => body(w, (int)((long)items * w / workers), (int)((long)items * (w + 1) / workers)));
    }

    private static long Macs(in ConvGeometry g) => (long)g.N * g.Cout * g.Kg * g.OutSpatial;

    /// <summary>y = conv(x, w) + b. Shapes: x [N, C, D, H, W], w [Cout, C/groups, kD, kH, kW], b [Cout], y [N, Cout, oD, oH, oW].</summary>
    internal static void Forward(ConvGeometry g, float[] x, float[] w, float[]? b, float[] y)
    {
        int workers = Workers(g.N, Macs(g));
        Partition(g.N, workers, (_, start, end) => ForwardRange(g, x, w, b, y, start, end));
    }

    private static void ForwardRange(in ConvGeometry g, float[] xa, float[] wa, float[]? ba, float[] ya, int start, int end)
    {
        int os = g.OutSpatial, inS = g.InSpatial, coutG = g.CoutG, cg = g.Cg, kg = g.Kg;
        int xSample = g.C * inS, ySample = g.Cout * os;
        ReadOnlySpan<float> w = wa;
        float beta = ba is null ? 0f : 1f;
        if (g.IsPointwise)
        {
            for (int n = start; n < end; n++)
            {
                Span<float> yn = ya.AsSpan(n * ySample, ySample);
                if (ba is not null) FillBias(ba, yn, os);
                ReadOnlySpan<float> xn = xa.AsSpan(n * xSample, xSample);
                for (int gr = 0; gr < g.Groups; gr++)
                    Gemm.Sgemm(false, false, coutG, os, cg, 1f, w.Slice(gr * coutG * cg), cg,
                        xn.Slice(gr * cg * inS), inS, beta, yn.Slice(gr * coutG * os), os);
            }
            return;
        }
        int tile = TileColumns(g);
        float[] colBuf = ArrayPool<float>.Shared.Rent(g.K * tile);
        try
        {
            for (int n = start; n < end; n++)
            {
                Span<float> yn = ya.AsSpan(n * ySample, ySample);
                if (ba is not null) FillBias(ba, yn, os);
                ReadOnlySpan<float> xn = xa.AsSpan(n * xSample, xSample);
                for (int p0 = 0; p0 < os; p0 += tile)
                {
                    int cols = Math.Min(tile, os - p0);
                    Span<float> col = colBuf.AsSpan(0, g.K * cols);
                    Im2Col.Unfold(g, xn, col, p0, cols);
                    for (int gr = 0; gr < g.Groups; gr++)
                        Gemm.Sgemm(false, false, coutG, cols, kg, 1f, w.Slice(gr * coutG * kg), kg,
                            col.Slice(gr * kg * cols), cols, beta, yn.Slice(gr * coutG * os + p0), os);
                }
            }
        }
        finally { ArrayPool<float>.Shared.Return(colBuf); }
    }

    private static void FillBias(float[] b, Span<float> yn, int os)
    {
        for (int co = 0; co < b.Length; co++) yn.Slice(co * os, os).Fill(b[co]);
    }

    /// <summary>Gradients of a convolution from the output gradient <paramref name="gy"/> [N, Cout, oD, oH, oW].
    /// Each destination that is non-null is overwritten.</summary>
    internal static void Backward(ConvGeometry g, float[] gy, float[] x, float[] w, float[]? gx, float[]? gw, float[]? gb)
    {
        if (gb is not null) BiasGrad(g, gy, gb);
        if (gx is null && gw is null) return;
        int workers = Workers(g.N, Macs(g));
        int wLen = g.Cout * g.Kg;
        var partials = new float[]?[workers];
        try
        {
            Partition(g.N, workers, (wk, start, end) =>
            {
                float[]? acc = null;
                if (gw is not null)
                {
                    acc = wk == 0 ? gw : ArrayPool<float>.Shared.Rent(wLen);
                    if (wk != 0) partials[wk] = acc;
                    acc.AsSpan(0, wLen).Clear();
                }
                BackwardRange(g, gy, x, w, gx, acc, start, end);
            });
            if (gw is not null)
                for (int wk = 1; wk < workers; wk++)
                    TensorPrimitives.Add(gw.AsSpan(0, wLen), partials[wk].AsSpan(0, wLen), gw.AsSpan(0, wLen));
        }
        finally
        {
            foreach (var p in partials) if (p is not null) ArrayPool<float>.Shared.Return(p);
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

    private static void BackwardRange(in ConvGeometry g, float[] gya, float[] xa, float[] wa, float[]? gxa, float[]? gwa, int start, int end)
    {
        int os = g.OutSpatial, inS = g.InSpatial, coutG = g.CoutG, cg = g.Cg, kg = g.Kg;
        int xSample = g.C * inS, ySample = g.Cout * os;
        ReadOnlySpan<float> w = wa;
        if (g.IsPointwise)
        {
            for (int n = start; n < end; n++)
            {
                ReadOnlySpan<float> gyn = gya.AsSpan(n * ySample, ySample);
                ReadOnlySpan<float> xn = xa.AsSpan(n * xSample, xSample);
                for (int gr = 0; gr < g.Groups; gr++)
                {
                    if (gwa is not null)
                        Gemm.Sgemm(false, true, coutG, cg, os, 1f, gyn.Slice(gr * coutG * os), os,
                            xn.Slice(gr * cg * inS), inS, 1f, gwa.AsSpan(gr * coutG * cg), cg);
                    if (gxa is not null)
                        Gemm.Sgemm(true, false, cg, os, coutG, 1f, w.Slice(gr * coutG * cg), cg,
                            gyn.Slice(gr * coutG * os), os, 0f, gxa.AsSpan(n * xSample + gr * cg * inS), inS);
                }
            }
            return;
        }
        int tile = TileColumns(g);
        float[] colBuf = ArrayPool<float>.Shared.Rent(g.K * tile);
        try
        {
            for (int n = start; n < end; n++)
            {
                ReadOnlySpan<float> gyn = gya.AsSpan(n * ySample, ySample);
                ReadOnlySpan<float> xn = xa.AsSpan(n * xSample, xSample);
                Span<float> gxn = gxa is null ? default : gxa.AsSpan(n * xSample, xSample);
                if (gxa is not null) gxn.Clear();
                for (int p0 = 0; p0 < os; p0 += tile)
                {
                    int cols = Math.Min(tile, os - p0);
                    Span<float> col = colBuf.AsSpan(0, g.K * cols);
                    if (gwa is not null)
                    {
                        Im2Col.Unfold(g, xn, col, p0, cols);
                        for (int gr = 0; gr < g.Groups; gr++)
                            Gemm.Sgemm(false, true, coutG, kg, cols, 1f, gyn.Slice(gr * coutG * os + p0), os,
                                col.Slice(gr * kg * cols), cols, 1f, gwa.AsSpan(gr * coutG * kg), kg);
                    }
                    if (gxa is not null)
                    {
                        for (int gr = 0; gr < g.Groups; gr++)
                            Gemm.Sgemm(true, false, kg, cols, coutG, 1f, w.Slice(gr * coutG * kg), kg,
                                gyn.Slice(gr * coutG * os + p0), os, 0f, col.Slice(gr * kg * cols), cols);
                        Im2Col.FoldAdd(g, col, gxn, p0, cols);
                    }
                }
            }
        }
        finally { ArrayPool<float>.Shared.Return(colBuf); }
    }
}
