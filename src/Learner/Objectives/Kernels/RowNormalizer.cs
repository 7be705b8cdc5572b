using Learner.Nn.Kernels;

namespace Learner.Objectives.Kernels;

/// <summary>
/// Row-wise L2 normalisation n = e / max(‖e‖, ε) and its exact backward, as torch.nn.functional.normalize defines
/// them (the engine's <see cref="RowKernels"/>): for ‖e‖ &gt; ε, de = (dn − (dn·n) n) / ‖e‖; for ‖e‖ ≤ ε (a zero vector), de = dn / ε.
/// </summary>
internal static class RowNormalizer
{
    /// <summary>Default ε on norms (as torch.nn.functional.normalize).</summary>
    public const float DefaultEpsilon = 1e-12f;

    /// <summary>Normalises the rows of <paramref name="e"/> (rows×d) into <paramref name="n"/>, storing max(‖e‖, ε) per row.</summary>
    public static void Forward(ReadOnlySpan<float> e, int rows, int d, float eps, Span<float> n, Span<float> norms)
    {
        for (int i = 0; i < rows; i++) norms[i] = RowKernels.Normalize(e.Slice(i * d, d), eps, n.Slice(i * d, d));
    }

    /// <summary>Back-propagates <paramref name="dn"/> through the normalisation into <paramref name="de"/>
    /// (overwritten), times <paramref name="scale"/>. <paramref name="dn"/> and <paramref name="de"/> may alias.</summary>
    public static void Backward(ReadOnlySpan<float> dn, ReadOnlySpan<float> n, ReadOnlySpan<float> norms, int rows, int d, float eps, float scale, Span<float> de)
    {
        for (int i = 0; i < rows; i++)
            RowKernels.NormalizeBackward(dn.Slice(i * d, d), n.Slice(i * d, d), norms[i], eps, scale, de.Slice(i * d, d));
    }
}
