using System.Numerics.Tensors;

namespace Learner.Nn.Kernels;

/// <summary>
/// Max, average and adaptive-average pooling over planes [D, H, W] (2-D pooling is the D = 1 case). The geometry's
/// <see cref="ConvGeometry.N"/> counts planes (batch × channels); dilation is 1. Planes are split over cores when
/// the work is large; rows with stride 1 along W use vector kernels, and 2-D max pooling is branch-free
/// (<see cref="MaxPool2x2"/>; <see cref="MaxPoolRows16"/> for stride 2 over rows 16 wide, <see cref="MaxPoolPlanes"/> for other
/// narrow outputs, whole planes at a time; <see cref="MaxPoolWindows"/>).
/// </summary>
internal static class PoolKernels
{
    private const long MinParallelElements = 1L << 16;

    private static int Workers(int planes, long work) =>
        planes < 2 || work < MinParallelElements ? 1 : Math.Min(planes, WorkerPool.Threads);

    // ------------------------------------------------------------------ max

    /// <summary>Max pooling forward; padding is implicit −∞. NaN propagates.</summary>
    internal static void MaxForward(ConvGeometry g, float[] x, float[] y)
    {
        long work = (long)g.N * g.OutSpatial * g.KernelVolume;
        var (rows16, whole) = PlaneKernel(g);
        try
        {
            ConvKernels.Partition(g.N, Workers(g.N, work), (_, s, e) =>
            {
                for (int p = s; p < e; p++)
                {
                    ReadOnlySpan<float> xp = x.AsSpan(p * g.InSpatial, g.InSpatial);
                    Span<float> yp = y.AsSpan(p * g.OutSpatial, g.OutSpatial);
                    if (rows16) { MaxPoolRows16.Forward(g, xp, yp); continue; }
                    if (whole is not null) { whole.Forward(xp, yp); continue; }
                    // 2-D windows keep the scalar rule bit for bit (the first maximum, signed zeros included), also
                    // where the vector window kernel does not apply (rows wider than it takes, or no 128-bit vectors);
                    // the stride-1 row kernel's vector max returns +0 for (−0, +0) and serves 3-D windows only.
                    if (IsPair2x2(g)) MaxPool2x2.Forward(g, xp, yp);
                    else if (MaxPoolWindows.Applies(g)) MaxPoolWindows.Forward(g, xp, yp);
                    else if (g.SW == 1 && !IsPlanar(g)) WindowRowsStride1(g, xp, yp, max: true);
                    else MaxPlaneScalar(g, xp, yp);
                }
            });
        }
        finally { whole?.Return(); }
    }

    private static void MaxPlaneScalar(in ConvGeometry g, ReadOnlySpan<float> x, Span<float> y)
    {
        int o = 0;
        for (int od = 0; od < g.OD; od++)
            for (int oh = 0; oh < g.OH; oh++)
                for (int ow = 0; ow < g.OW; ow++) y[o++] = WindowMax(g, x, od, oh, ow, out _);
    }

    /// <summary>
    /// The scalar rule of max pooling for output (<paramref name="od"/>, <paramref name="oh"/>, <paramref name="ow"/>) of
    /// one plane: the window's values in scan order
    /// (depth, then rows top to bottom, each left to right), a value taken when it is greater than the running one or
    /// NaN — the first maximum, or the last NaN; <paramref name="arg"/> is its plane index, starting at the window's
    /// first position inside the plane (kept by a window of −∞). The vector kernels reproduce it bit for bit.
    /// </summary>
    private static float WindowMax(in ConvGeometry g, ReadOnlySpan<float> x, int od, int oh, int ow, out int arg)
    {
        int d0 = od * g.SD - g.PD, d1 = Math.Min(d0 + g.KD, g.D); d0 = Math.Max(d0, 0);
        int h0 = oh * g.SH - g.PH, h1 = Math.Min(h0 + g.KH, g.H); h0 = Math.Max(h0, 0);
        int w0 = ow * g.SW - g.PW, w1 = Math.Min(w0 + g.KW, g.W); w0 = Math.Max(w0, 0);
        float m = float.NegativeInfinity;
        arg = (d0 * g.H + h0) * g.W + w0;
        for (int d = d0; d < d1; d++)
            for (int h = h0; h < h1; h++)
            {
                int row = (d * g.H + h) * g.W;
                for (int w = w0; w < w1; w++)
                {
                    float v = x[row + w];
                    if (v > m || float.IsNaN(v)) { m = v; arg = row + w; }
                }
            }
        return m;
    }

    /// <summary>Max pooling backward: each output gradient goes to its window's arg-max (first maximum, or last NaN, as PyTorch).</summary>
    internal static void MaxBackward(ConvGeometry g, float[] x, float[] gy, float[] gx)
    {
        long work = (long)g.N * g.OutSpatial * g.KernelVolume;
        var (rows16, whole) = PlaneKernel(g);
        try
        {
            ConvKernels.Partition(g.N, Workers(g.N, work), (_, s, e) =>
            {
                for (int p = s; p < e; p++)
                {
                    ReadOnlySpan<float> xp = x.AsSpan(p * g.InSpatial, g.InSpatial);
                    ReadOnlySpan<float> gyp = gy.AsSpan(p * g.OutSpatial, g.OutSpatial);
                    Span<float> gxp = gx.AsSpan(p * g.InSpatial, g.InSpatial);
                    if (rows16) { MaxPoolRows16.Backward(g, xp, gyp, gxp); continue; }
                    if (whole is not null) { whole.Backward(xp, gyp, gxp); continue; }
                    if (IsPair2x2(g)) { MaxPool2x2.Backward(g, xp, gyp, gxp); continue; }
                    if (MaxPoolWindows.Applies(g)) { MaxPoolWindows.Backward(g, xp, gyp, gxp); continue; }
                    gxp.Clear();
                    int o = 0;
                    for (int od = 0; od < g.OD; od++)
                        for (int oh = 0; oh < g.OH; oh++)
                            for (int ow = 0; ow < g.OW; ow++, o++)
                            {
                                WindowMax(g, xp, od, oh, ow, out int arg);
                                gxp[arg] += gyp[o];
                            }
                }
            });
        }
        finally { whole?.Return(); }
    }

    /// <summary>The whole-plane max-pool kernel for <paramref name="g"/>, the same choice forward and backward: rows of 16
    /// at stride 2 (<see cref="MaxPoolRows16"/>), else other narrow outputs (<see cref="MaxPoolPlanes"/>, whose rented
    /// tables the caller returns), else neither (the per-plane kernels below).</summary>
    private static (bool Rows16, MaxPoolPlanes? Whole) PlaneKernel(in ConvGeometry g)
    {
        if (IsPair2x2(g)) return (false, null);
        if (MaxPoolRows16.Applies(g)) return (true, null);
        return (false, MaxPoolPlanes.Applies(g) ? new MaxPoolPlanes(g) : null);
    }

    /// <summary>A 2-D pool (a depth window of 1 over planes of depth 1), whose forward keeps the scalar rule bit for bit.</summary>
    private static bool IsPlanar(in ConvGeometry g) => g.D == 1 && g.KD == 1;

    /// <summary>The common 2×2, stride-2, unpadded window over H and W (depth window 1): every window lies inside the
    /// plane and no two overlap, so the general loop's clamping is not needed (<see cref="MaxPool2x2"/>).</summary>
    private static bool IsPair2x2(in ConvGeometry g) =>
        g.KH == 2 && g.KW == 2 && g.SH == 2 && g.SW == 2 && g.PH == 0 && g.PW == 0 && g.KD == 1 && g.SD == 1 && g.PD == 0;

    // ------------------------------------------------------------------ average

    /// <summary>Average pooling forward, dividing by the full window volume (PyTorch's count_include_pad = true).</summary>
    internal static void AvgForward(ConvGeometry g, float[] x, float[] y)
    {
        long work = (long)g.N * g.OutSpatial * g.KernelVolume;
        float div = g.KernelVolume;
        ConvKernels.Partition(g.N, Workers(g.N, work), (_, s, e) =>
        {
            for (int p = s; p < e; p++)
            {
                ReadOnlySpan<float> xp = x.AsSpan(p * g.InSpatial, g.InSpatial);
                Span<float> yp = y.AsSpan(p * g.OutSpatial, g.OutSpatial);
                if (g.SW == 1) { WindowRowsStride1(g, xp, yp, max: false); TensorPrimitives.Divide(yp, div, yp); continue; }
                int o = 0;
                for (int od = 0; od < g.OD; od++)
                {
                    int d0 = od * g.SD - g.PD, d1 = Math.Min(d0 + g.KD, g.D); d0 = Math.Max(d0, 0);
                    for (int oh = 0; oh < g.OH; oh++)
                    {
                        int h0 = oh * g.SH - g.PH, h1 = Math.Min(h0 + g.KH, g.H); h0 = Math.Max(h0, 0);
                        for (int ow = 0; ow < g.OW; ow++, o++)
                        {
                            int w0 = ow * g.SW - g.PW, w1 = Math.Min(w0 + g.KW, g.W); w0 = Math.Max(w0, 0);
                            float sum = 0f;
                            for (int d = d0; d < d1; d++)
                                for (int h = h0; h < h1; h++)
                                {
                                    int row = (d * g.H + h) * g.W;
                                    for (int w = w0; w < w1; w++) sum += xp[row + w];
                                }
                            yp[o] = sum / div;
                        }
                    }
                }
            }
        });
    }

    /// <summary>Average pooling backward: each output gradient, divided by the window volume, is added to every in-bounds window element.</summary>
    internal static void AvgBackward(ConvGeometry g, float[] gy, float[] gx)
    {
        long work = (long)g.N * g.OutSpatial * g.KernelVolume;
        float div = g.KernelVolume;
        ConvKernels.Partition(g.N, Workers(g.N, work), (_, s, e) =>
        {
            for (int p = s; p < e; p++)
            {
                ReadOnlySpan<float> gyp = gy.AsSpan(p * g.OutSpatial, g.OutSpatial);
                Span<float> gxp = gx.AsSpan(p * g.InSpatial, g.InSpatial);
                gxp.Clear();
                int o = 0;
                for (int od = 0; od < g.OD; od++)
                {
                    int d0 = od * g.SD - g.PD, d1 = Math.Min(d0 + g.KD, g.D); d0 = Math.Max(d0, 0);
                    for (int oh = 0; oh < g.OH; oh++)
                    {
                        int h0 = oh * g.SH - g.PH, h1 = Math.Min(h0 + g.KH, g.H); h0 = Math.Max(h0, 0);
                        for (int ow = 0; ow < g.OW; ow++, o++)
                        {
                            int w0 = ow * g.SW - g.PW, w1 = Math.Min(w0 + g.KW, g.W); w0 = Math.Max(w0, 0);
                            float v = gyp[o] / div;
                            for (int d = d0; d < d1; d++)
                                for (int h = h0; h < h1; h++)
                                {
                                    int row = (d * g.H + h) * g.W;
                                    for (int w = w0; w < w1; w++) gxp[row + w] += v;
                                }
                        }
                    }
                }
            }
        });
    }

    /// <summary>Stride-1-along-W window reduction (max, or sum for average) of one plane: whole output rows are
    /// combined with shifted input rows by vector max/add.</summary>
    private static void WindowRowsStride1(in ConvGeometry g, ReadOnlySpan<float> x, Span<float> y, bool max)
    {
        for (int od = 0; od < g.OD; od++)
        {
            int d0 = od * g.SD - g.PD, d1 = Math.Min(d0 + g.KD, g.D); d0 = Math.Max(d0, 0);
            for (int oh = 0; oh < g.OH; oh++)
            {
                int h0 = oh * g.SH - g.PH, h1 = Math.Min(h0 + g.KH, g.H); h0 = Math.Max(h0, 0);
                Span<float> yr = y.Slice((od * g.OH + oh) * g.OW, g.OW);
                if (max) yr.Fill(float.NegativeInfinity); else yr.Clear();
                for (int d = d0; d < d1; d++)
                    for (int h = h0; h < h1; h++)
                    {
                        ReadOnlySpan<float> xr = x.Slice((d * g.H + h) * g.W, g.W);
                        for (int kw = 0; kw < g.KW; kw++)
                        {
                            int off = kw - g.PW;
                            var (lo, hi) = ConvGeometry.ValidRange(off, 1, g.W, g.OW);
                            if (hi <= lo) continue;
                            Span<float> dst = yr.Slice(lo, hi - lo);
                            ReadOnlySpan<float> src = xr.Slice(lo + off, hi - lo);
                            if (max) TensorPrimitives.Max(dst, src, dst);
                            else TensorPrimitives.Add(dst, src, dst);
                        }
                    }
            }
        }
    }

    // ------------------------------------------------------------------ adaptive average

    /// <summary>Start of adaptive bin <paramref name="i"/>: ⌊i·in/out⌋.</summary>
    internal static int BinStart(int i, int input, int output) => (int)((long)i * input / output);

    /// <summary>End (exclusive) of adaptive bin <paramref name="i"/>: ⌈(i+1)·in/out⌉.</summary>
    internal static int BinEnd(int i, int input, int output) => (int)(((long)(i + 1) * input + output - 1) / output);

    /// <summary>Adaptive average pooling forward over planes [D, H, W] → [oD, oH, oW] (PyTorch's bins).</summary>
    internal static void AdaptiveAvgForward(int planes, int D, int H, int W, int oD, int oH, int oW, float[] x, float[] y)
    {
        int inS = D * H * W, outS = oD * oH * oW;
        ConvKernels.Partition(planes, Workers(planes, (long)planes * inS), (_, s, e) =>
        {
            for (int p = s; p < e; p++)
            {
                ReadOnlySpan<float> xp = x.AsSpan(p * inS, inS);
                Span<float> yp = y.AsSpan(p * outS, outS);
                int o = 0;
                for (int od = 0; od < oD; od++)
                {
                    int d0 = BinStart(od, D, oD), d1 = BinEnd(od, D, oD);
                    for (int oh = 0; oh < oH; oh++)
                    {
                        int h0 = BinStart(oh, H, oH), h1 = BinEnd(oh, H, oH);
                        for (int ow = 0; ow < oW; ow++, o++)
                        {
                            int w0 = BinStart(ow, W, oW), w1 = BinEnd(ow, W, oW);
                            float sum = 0f;
                            for (int d = d0; d < d1; d++)
                                for (int h = h0; h < h1; h++)
                                    sum += TensorPrimitives.Sum(xp.Slice((d * H + h) * W + w0, w1 - w0));
                            yp[o] = sum / ((d1 - d0) * (h1 - h0) * (w1 - w0));
                        }
                    }
                }
            }
        });
    }

    /// <summary>Adaptive average pooling backward.</summary>
    internal static void AdaptiveAvgBackward(int planes, int D, int H, int W, int oD, int oH, int oW, float[] gy, float[] gx)
    {
        int inS = D * H * W, outS = oD * oH * oW;
        ConvKernels.Partition(planes, Workers(planes, (long)planes * inS), (_, s, e) =>
        {
            for (int p = s; p < e; p++)
            {
                ReadOnlySpan<float> gyp = gy.AsSpan(p * outS, outS);
                Span<float> gxp = gx.AsSpan(p * inS, inS);
                gxp.Clear();
                int o = 0;
                for (int od = 0; od < oD; od++)
                {
                    int d0 = BinStart(od, D, oD), d1 = BinEnd(od, D, oD);
                    for (int oh = 0; oh < oH; oh++)
                    {
                        int h0 = BinStart(oh, H, oH), h1 = BinEnd(oh, H, oH);
                        for (int ow = 0; ow < oW; ow++, o++)
                        {
                            int w0 = BinStart(ow, W, oW), w1 = BinEnd(ow, W, oW);
                            float v = gyp[o] / ((d1 - d0) * (h1 - h0) * (w1 - w0));
                            for (int d = d0; d < d1; d++)
                                for (int h = h0; h < h1; h++)
                                {
                                    Span<float> row = gxp.Slice((d * H + h) * W + w0, w1 - w0);
                                    TensorPrimitives.Add(row, v, row);
                                }
                        }
                    }
                }
            }
        });
    }
}
