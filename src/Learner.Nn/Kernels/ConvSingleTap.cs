using System.Buffers;

namespace Learner.Nn.Kernels;

/// <summary>
/// Convolutions from a single input position to a single output position in which only one tap of the window meets
/// the input, every other tap multiplying padding — the 3×3, padding-1 convolutions on the 1×1 maps of ResNet-18's last
/// stage when the clips are 32×32. They are computed as the pointwise convolution with that tap's weights, which is
/// 1 / (kernel volume) of the multiply–adds the im2col GEMM spends on them (for 3×3, a ninth); the weight gradient of
/// every other tap is zero.
/// </summary>
/// <remarks>Deterministic and independent of the core count like the general path, but not bit-identical to it: the
/// im2col GEMM interleaves the zero products with the real ones and splits the sum into other reduction slices.</remarks>
internal static class ConvSingleTap
{
    /// <summary>Whether <paramref name="g"/> is such a convolution (one group; a window of more than one tap), and the
    /// index of the tap that meets the input within the (kd, kh, kw) window.</summary>
    internal static bool Applies(in ConvGeometry g, out int tap)
    {
        tap = -1;
        if (g.Groups != 1 || g.KernelVolume == 1 || g.InSpatial != 1 || g.OutSpatial != 1 || g.N == 0) return false;
        if (!Axis(g.KD, g.PD, g.DD, out int kd) || !Axis(g.KH, g.PH, g.DH, out int kh) || !Axis(g.KW, g.PW, g.DW, out int kw)) return false;
        tap = (kd * g.KH + kh) * g.KW + kw;
        return true;
    }

    /// <summary>With one input and one output position along an axis, tap k meets the input exactly when
    /// k · dilation = padding.</summary>
    private static bool Axis(int k, int padding, int dilation, out int tap)
    {
        tap = padding / dilation;
        return padding % dilation == 0 && tap < k;
    }

    private static ConvGeometry Pointwise(in ConvGeometry g) =>
        new(g.N, g.C, 1, 1, 1, g.Cout, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1);

    /// <summary>The tap's weights, Cout × C, rented from the shared pool.</summary>
    private static float[] TapWeights(in ConvGeometry g, float[] w, int tap)
    {
        int kv = g.KernelVolume, rows = g.Cout * g.C;
        float[] wc = ArrayPool<float>.Shared.Rent(rows);
        for (int i = 0; i < rows; i++) wc[i] = w[i * kv + tap];
        return wc;
    }

    /// <summary>y = conv(x, w) + b through the pointwise convolution of the tap's weights.</summary>
    internal static void Forward(in ConvGeometry g, int tap, float[] x, float[] w, float[]? b, float[] y, int threads, ConvAlgorithm algorithm)
    {
        float[] wc = TapWeights(g, w, tap);
        try { ConvKernels.Forward(Pointwise(g), x, wc, b, y, threads, algorithm); }
        finally { ArrayPool<float>.Shared.Return(wc); }
    }

    /// <summary>The gradients: the pointwise convolution's, the weight gradient scattered to the tap (zero elsewhere).
    /// Each destination that is non-null is overwritten.</summary>
    internal static void Backward(in ConvGeometry g, int tap, float[] gy, float[] x, float[] w, float[]? gx, float[]? gw, float[]? gb,
        int threads, ConvAlgorithm algorithm)
    {
        int kv = g.KernelVolume, rows = g.Cout * g.C;
        float[] wc = TapWeights(g, w, tap);
        float[]? gwc = gw is null ? null : ArrayPool<float>.Shared.Rent(rows);
        try
        {
            ConvKernels.Backward(Pointwise(g), gy, x, wc, gx, gwc, gb, threads, algorithm);
            if (gw is null || gwc is null) return;
            Array.Clear(gw, 0, rows * kv);
            for (int i = 0; i < rows; i++) gw[i * kv + tap] = gwc[i];
        }
        finally
        {
            ArrayPool<float>.Shared.Return(wc);
            if (gwc is not null) ArrayPool<float>.Shared.Return(gwc);
        }
    }
}
