using System.Buffers;

namespace Learner.Nn.Kernels;

/// <summary>
/// A convolution on maps so small that it is cheaper as the dense linear map it is: every output position o of a
/// sample is a sum over every input position i with the weight of the tap joining them (none where no tap does), so
/// with W′[(co, o), (ci, i)] = w[co, ci, tap(o, i)] the output of the batch is one GEMM, Y (N × Cout·OS) = X (N × C·IS) ·
/// W′ᵀ, reading x and writing y in their batch layout. For the ResNet-18 preset's 3×3 convolutions on 2×2 maps (256 → 256)
/// that is 4 input positions per output against im2col's 9 taps: 2.25× fewer multiply–adds and no unfolding at all.
/// The input gradient is gy · W′, the weight gradient W′'s gradient gyᵀ · x folded back onto the taps.
/// </summary>
/// <remarks>Deterministic and independent of the core count (the GEMMs are; the fold adds each tap's terms in a fixed
/// order: output positions, then input positions, ascending). Not bit-identical to im2col, which sums the same products
/// in other groupings.</remarks>
internal static unsafe class SmallMapConv
{
    /// <summary>The largest dense matrix (Cout·OS × C·IS floats, 16 MiB) this path builds.</summary>
    internal const long MaxDenseFloats = 1 << 22;

    /// <summary>Whether the automatic choice takes this path: one group, a window that is not pointwise, at least twice
    /// fewer multiply–adds than im2col (input positions ≤ half the window's taps), at least 4 samples to share the
    /// dense matrix's construction, and the matrix within <see cref="MaxDenseFloats"/>. Measured only where it was
    /// built for (3×3 on 2×2 maps, 128 frames: 6.5 → 3.3 ms on a Zen 5); the sample and size bounds are judgments, not
    /// measured break-even points.</summary>
    internal static bool Chooses(in ConvGeometry g) =>
        g.Groups == 1 && !g.IsPointwise && g.N >= 4 && g.OutSpatial > 0 && 2L * g.InSpatial <= g.KernelVolume
        && (long)g.Cout * g.OutSpatial * g.C * g.InSpatial <= MaxDenseFloats;

    /// <summary>y = conv(x, w) + b.</summary>
    internal static void Forward(in ConvGeometry g, float[] x, float[] w, float[]? b, float[] y, int threads)
    {
        int rows = g.Cout * g.OutSpatial, cols = g.C * g.InSpatial;
        int[] taps = Taps(g);
        float[] dense;
        try { dense = Expand(g, w, taps, threads); }
        finally { ArrayPool<int>.Shared.Return(taps); }
        try
        {
            if (b is not null)
                for (int n = 0; n < g.N; n++)
                    for (int co = 0; co < g.Cout; co++) y.AsSpan((n * g.Cout + co) * g.OutSpatial, g.OutSpatial).Fill(b[co]);
            Gemm.SgemmCore(Gemm.BestIsa, threads, false, true, g.N, rows, cols, 1f, x, cols, dense, cols, b is null ? 0f : 1f, y, rows);
        }
        finally { ArrayPool<float>.Shared.Return(dense); }
    }

    /// <summary>The input gradient gx and the weight gradient gw (each overwritten when non-null).</summary>
    internal static void Backward(in ConvGeometry g, float[] gy, float[] x, float[] w, float[]? gx, float[]? gw, int threads)
    {
        if (gx is null && gw is null) return;
        int rows = g.Cout * g.OutSpatial, cols = g.C * g.InSpatial;
        // One tap table for both gradients.
        int[] taps = Taps(g);
        try
        {
            if (gx is not null)
            {
                float[] dense = Expand(g, w, taps, threads);
                try { Gemm.SgemmCore(Gemm.BestIsa, threads, false, false, g.N, cols, rows, 1f, gy, rows, dense, cols, 0f, gx, cols); }
                finally { ArrayPool<float>.Shared.Return(dense); }
            }
            if (gw is null) return;
            float[] gDense = ArrayPool<float>.Shared.Rent(rows * cols);
            try
            {
                Gemm.SgemmCore(Gemm.BestIsa, threads, true, false, rows, cols, g.N, 1f, gy, rows, x, cols, 0f, gDense, cols);
                Fold(g, gDense, gw, taps, threads);
            }
            finally { ArrayPool<float>.Shared.Return(gDense); }
        }
        finally { ArrayPool<int>.Shared.Return(taps); }
    }

    /// <summary>tap[o·IS + i]: the window tap (index into the kernel volume) joining output o and input i, or −1; rented
    /// from the shared pool (the caller returns it).</summary>
    private static int[] Taps(in ConvGeometry g)
    {
        int os = g.OutSpatial, ins = g.InSpatial;
        int[] taps = ArrayPool<int>.Shared.Rent(os * ins);
        for (int o = 0; o < os; o++)
        {
            int od = o / (g.OH * g.OW), oh = o / g.OW % g.OH, ow = o % g.OW;
            for (int i = 0; i < ins; i++)
            {
                int id = i / (g.H * g.W), ih = i / g.W % g.H, iw = i % g.W;
                int kd = Tap(id, od, g.SD, g.PD, g.DD, g.KD), kh = Tap(ih, oh, g.SH, g.PH, g.DH, g.KH), kw = Tap(iw, ow, g.SW, g.PW, g.DW, g.KW);
                taps[o * ins + i] = kd < 0 || kh < 0 || kw < 0 ? -1 : (kd * g.KH + kh) * g.KW + kw;
            }
        }
        return taps;
    }

    /// <summary>The tap k with input = output·s − p + k·d along one axis, or −1.</summary>
    private static int Tap(int input, int output, int s, int p, int d, int kernel)
    {
        int offset = input - output * s + p;
        if (offset < 0 || offset % d != 0) return -1;
        int k = offset / d;
        return k < kernel ? k : -1;
    }

    /// <summary>W′ (Cout·OS × C·IS), rented: the rows of output channel co are built on one thread each.</summary>
    private static float[] Expand(in ConvGeometry g, float[] w, int[] taps, int threads)
    {
        int os = g.OutSpatial, ins = g.InSpatial, c = g.C, kv = g.KernelVolume, cols = c * ins;
        float[] dense = ArrayPool<float>.Shared.Rent(g.Cout * os * cols);
        ConvKernels.Partition(g.Cout, Math.Max(1, Math.Min(threads, g.Cout)), (_, c0, c1) =>
        {
            fixed (float* pw = w, pd = dense)
            fixed (int* pt = taps)
                for (int co = c0; co < c1; co++)
                    for (int ci = 0; ci < c; ci++)
                    {
                        float* wk = pw + ((long)co * c + ci) * kv;
                        for (int o = 0; o < os; o++)
                        {
                            float* dst = pd + ((long)co * os + o) * cols + ci * ins;
                            int* to = pt + o * ins;
                            for (int i = 0; i < ins; i++) dst[i] = to[i] < 0 ? 0f : wk[to[i]];
                        }
                    }
        });
        return dense;
    }

    /// <summary>gw[co, ci, k] = Σ gW′[(co, o), (ci, i)] over the pairs joined by tap k, outputs then inputs ascending
    /// (each sum from +0).</summary>
    private static void Fold(in ConvGeometry g, float[] gDense, float[] gw, int[] taps, int threads)
    {
        int os = g.OutSpatial, ins = g.InSpatial, c = g.C, kv = g.KernelVolume, cols = c * ins;
        ConvKernels.Partition(g.Cout, Math.Max(1, Math.Min(threads, g.Cout)), (_, c0, c1) =>
        {
            fixed (float* pg = gDense, pw = gw)
            fixed (int* pt = taps)
                for (int co = c0; co < c1; co++)
                    for (int ci = 0; ci < c; ci++)
                    {
                        float* acc = pw + ((long)co * c + ci) * kv;
                        for (int k = 0; k < kv; k++) acc[k] = 0f;
                        for (int o = 0; o < os; o++)
                        {
                            float* src = pg + ((long)co * os + o) * cols + ci * ins;
                            int* to = pt + o * ins;
                            for (int i = 0; i < ins; i++)
                                if (to[i] >= 0) acc[to[i]] += src[i];
                        }
                    }
        });
    }
}
