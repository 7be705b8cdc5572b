using System.Numerics.Tensors;

namespace Learner.Objectives.Kernels;

/// <summary>
/// Row-wise L2 normalisation n = e / max(‖e‖, ε) and its exact backward, as torch.nn.functional.normalize defines
/// them: for ‖e‖ &gt; ε, de = (dn − (dn·n) n) / ‖e‖; for ‖e‖ ≤ ε (a zero vector), de = dn / ε.
/// </summary>
internal static class RowNormalizer
{
    /// <summary>Default ε on norms (as torch.nn.functional.normalize).</summary>
    public const float DefaultEpsilon = 1e-12f;

    /// <summary>Normalises the rows of <paramref name="e"/> (rows×d) into <paramref name="n"/>, storing max(‖e‖, ε) per row.</summary>
    public static void Forward(ReadOnlySpan<float> e, int rows, int d, float eps, Span<float> n, Span<float> norms)
    {
        for (int i = 0; i < rows; i++)
        {
            var src = e.Slice(i * d, d);
            float norm = (float)Math.Sqrt(Accumulate.Dot(src, src));
            float denom = Math.Max(norm, eps);
            norms[i] = denom;
            TensorPrimitives.Multiply(src, 1f / denom, n.Slice(i * d, d));
        }
    }

    /// <summary>Back-propagates <paramref name="dn"/> through the normalisation into <paramref name="de"/>
    /// (overwritten), times <paramref name="scale"/>. <paramref name="dn"/> and <paramref name="de"/> may alias.</summary>
    public static void Backward(ReadOnlySpan<float> dn, ReadOnlySpan<float> n, ReadOnlySpan<float> norms, int rows, int d, float eps, float scale, Span<float> de)
    {
        for (int i = 0; i < rows; i++)
        {
            var g = dn.Slice(i * d, d);
            var o = de.Slice(i * d, d);
            float denom = norms[i];
            if (denom > eps)
            {
                var ni = n.Slice(i * d, d);
                float proj = (float)Accumulate.Dot(g, ni);
                // o = (g − proj·n) · scale / ‖e‖
                TensorPrimitives.MultiplyAdd(ni, -proj, g, o);
                TensorPrimitives.Multiply(o, scale / denom, o);
            }
            else TensorPrimitives.Multiply(g, scale / denom, o);
        }
    }
}
