using System.Buffers;

namespace Learner.Nn.Kernels;

/// <summary>
/// Drops the taps of a convolution window that meet only padding at every output position: along each axis the taps
/// that ever meet the input form one range [k0, k1), and when that range is shorter than the window the convolution is
/// the same one with the window cut to it and the padding moved by k0 · dilation. On the small maps of ResNet-18's last
/// stages on 32×32 clips this is most of the work: a 3×3 padding-1 convolution on 1×1 maps becomes pointwise (a ninth
/// of the multiply–adds), the stride-2 one from 2×2 to 1×1 a 2×2 window without padding (four ninths). The cut geometry
/// then takes whatever path suits it (pointwise, im2col, Winograd); the weight gradient of the dropped taps is zero.
/// </summary>
/// <remarks>Deterministic and independent of the core count like every path, but not bit-identical to the uncut
/// window, whose im2col sums also hold the zero products in other reduction slices.</remarks>
internal static class ConvWindowCrop
{
    /// <summary>Whether some tap of <paramref name="g"/>'s window meets only padding, and the geometry without those
    /// taps (one group; the same output size). False when every tap meets the input somewhere, or none does.</summary>
    internal static bool Crops(in ConvGeometry g, out ConvGeometry cut)
    {
        cut = g;
        if (g.Groups != 1 || g.N == 0 || g.OutSpatial == 0 || g.KernelVolume == 1) return false;
        if (!Range(g.D, g.OD, g.KD, g.SD, g.PD, g.DD, out int d0, out int kd)
            || !Range(g.H, g.OH, g.KH, g.SH, g.PH, g.DH, out int h0, out int kh)
            || !Range(g.W, g.OW, g.KW, g.SW, g.PW, g.DW, out int w0, out int kw)) return false;
        if (kd * kh * kw == g.KernelVolume) return false;
        cut = new ConvGeometry(g.N, g.C, g.D, g.H, g.W, g.Cout, 1, kd, kh, kw, g.SD, g.SH, g.SW,
            g.PD - d0 * g.DD, g.PH - h0 * g.DH, g.PW - w0 * g.DW, g.DD, g.DH, g.DW);
        // The kernels take no negative padding (a first kept tap past the padding, possible with dilation), and the cut
        // window with symmetric padding must give the same outputs (it can only give more); else keep the window.
        return cut.PD >= 0 && cut.PH >= 0 && cut.PW >= 0 && cut.OD == g.OD && cut.OH == g.OH && cut.OW == g.OW;
    }

    /// <summary>The taps [k0, k0 + count) along one axis that meet the input [0, length) for some output o in
    /// [0, outLength): 0 ≤ o·s + k·d − p &lt; length.</summary>
    private static bool Range(int length, int outLength, int k, int s, int p, int d, out int k0, out int count)
    {
        long lo = (long)p - (long)(outLength - 1) * s, hi = (long)p + length - 1; // k·d must lie in [lo, hi]
        long first = lo <= 0 ? 0 : (lo + d - 1) / d;
        long last = Math.Min(k - 1, hi < 0 ? -1 : hi / d);
        k0 = (int)first;
        count = (int)Math.Max(0, last - first + 1);
        return count > 0;
    }

    /// <summary>The kept taps' weights, [Cout, C, kD', kH', kW'], rented from the shared pool.</summary>
    private static float[] CutWeights(in ConvGeometry g, in ConvGeometry cut, float[] w, int threads)
    {
        float[] wc = ArrayPool<float>.Shared.Rent(g.Cout * g.C * cut.KernelVolume);
        Move(g, cut, w, wc, toCut: true, threads);
        return wc;
    }

    /// <summary>Copies every kept weight between the window's layout (<paramref name="full"/>) and the cut window's
    /// (<paramref name="cutW"/>): into the cut one when <paramref name="toCut"/>; otherwise back, the dropped taps set to
    /// zero (all of <paramref name="full"/> is written). Rows (output, input channel) are split over the cores.</summary>
    private static unsafe void Move(in ConvGeometry g, in ConvGeometry cut, float[] full, float[] cutW, bool toCut, int threads)
    {
        int d0 = (g.PD - cut.PD) / g.DD, h0 = (g.PH - cut.PH) / g.DH, w0 = (g.PW - cut.PW) / g.DW;
        int rows = g.Cout * g.C, kv = g.KernelVolume, ckv = cut.KernelVolume;
        if ((long)rows * kv > full.Length || (long)rows * ckv > cutW.Length)
            throw new ArgumentException("The weight buffers are shorter than the geometry's weights.");
        // Where each kept tap sits in the full window, in the cut window's order (taps), and which kept tap each full
        // tap is, or −1 (source): each (output, input channel) row is then a gather of ckv floats, or a whole row of kv
        // written from them — plain element loops, the rows being a few floats long (one kept, when a 3×3 window is
        // cut to a tap).
        int[] taps = ArrayPool<int>.Shared.Rent(ckv), source = ArrayPool<int>.Shared.Rent(kv);
        Array.Fill(source, -1, 0, kv);
        int t = 0;
        for (int a = 0; a < cut.KD; a++)
            for (int b = 0; b < cut.KH; b++)
                for (int c = 0; c < cut.KW; c++)
                {
                    taps[t] = ((d0 + a) * g.KH + h0 + b) * g.KW + w0 + c;
                    source[taps[t]] = t;
                    t++;
                }
        int parts = (long)rows * kv < 1 << 16 ? 1 : Math.Max(1, threads);
        try
        {
            ConvKernels.Partition(rows, parts, (_, r0, r1) =>
            {
                fixed (float* pf = full, pc = cutW)
                fixed (int* at = taps, src = source)
                {
                    if (toCut)
                        for (long r = r0; r < r1; r++)
                        {
                            float* window = pf + r * kv, kept = pc + r * ckv;
                            for (int i = 0; i < ckv; i++) kept[i] = window[at[i]];
                        }
                    else
                        for (long r = r0; r < r1; r++)
                        {
                            float* window = pf + r * kv, kept = pc + r * ckv;
                            for (int k = 0; k < kv; k++) window[k] = src[k] < 0 ? 0f : kept[src[k]];
                        }
                }
            });
        }
        finally
        {
            ArrayPool<int>.Shared.Return(taps);
            ArrayPool<int>.Shared.Return(source);
        }
    }

    /// <summary>y = conv(x, w) + b through the cut window.</summary>
    internal static void Forward(in ConvGeometry g, in ConvGeometry cut, float[] x, float[] w, float[]? b, float[] y, int threads, ConvAlgorithm algorithm)
    {
        float[] wc = CutWeights(g, cut, w, threads);
        try { ConvKernels.Forward(cut, x, wc, b, y, threads, algorithm); }
        finally { ArrayPool<float>.Shared.Return(wc); }
    }

    /// <summary>The gradients through the cut window; the dropped taps' weight gradient is zero. Each non-null
    /// destination is overwritten.</summary>
    internal static void Backward(in ConvGeometry g, in ConvGeometry cut, float[] gy, float[] x, float[] w, float[]? gx, float[]? gw, float[]? gb,
        int threads, ConvAlgorithm algorithm)
    {
        float[] wc = CutWeights(g, cut, w, threads);
        float[]? gwc = gw is null ? null : ArrayPool<float>.Shared.Rent(g.Cout * g.C * cut.KernelVolume);
        try
        {
            ConvKernels.Backward(cut, gy, x, wc, gx, gwc, gb, threads, algorithm);
            if (gw is null || gwc is null) return;
            Move(g, cut, gw, gwc, toCut: false, threads);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(wc);
            if (gwc is not null) ArrayPool<float>.Shared.Return(gwc);
        }
    }
}
