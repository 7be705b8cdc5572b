using System.Numerics.Tensors;

namespace Learner.Nn.Kernels;

/// <summary>
/// Row operations shared by the engine and the objectives, on the <see cref="Simd"/> reductions: L2 normalisation of a
/// row (torch.nn.functional.normalize's definition, norm accumulated in double) with its backward, and the
/// exp-and-sum sweep of a softmax row.
/// </summary>
public static class RowKernels
{
    /// <summary>n = e / max(‖e‖, ε); returns max(‖e‖, ε). <paramref name="n"/> may alias <paramref name="e"/>.</summary>
    public static float Normalize(ReadOnlySpan<float> e, float eps, Span<float> n)
    {
        float norm = (float)Math.Sqrt(Simd.Dot(e, e));
        float denom = Math.Max(norm, eps);
        TensorPrimitives.Multiply(e, 1f / denom, n);
        return denom;
    }

    /// <summary>de = scale·(dn − (dn·n) n) / denom where denom &gt; ε, else scale·dn / denom (the zero-vector branch).
    /// <paramref name="dn"/> and <paramref name="de"/> may alias.</summary>
    public static void NormalizeBackward(ReadOnlySpan<float> dn, ReadOnlySpan<float> n, float denom, float eps, float scale, Span<float> de)
    {
        if (denom > eps)
        {
            float proj = (float)Simd.Dot(dn, n);
            TensorPrimitives.MultiplyAdd(n, -proj, dn, de);
            TensorPrimitives.Multiply(de, scale / denom, de);
        }
        else TensorPrimitives.Multiply(dn, scale / denom, de);
    }

    /// <summary>x ← exp(x − <paramref name="shift"/>) in place; returns Σ of the new values, accumulated in double.</summary>
    /// <remarks>TensorPrimitives.Exp rather than Vector512.Exp: measured on .NET 10 (Zen 5), it is about 7× faster per element.</remarks>
    public static double ExpShiftSum(Span<float> x, float shift)
    {
        TensorPrimitives.Subtract(x, shift, x);
        TensorPrimitives.Exp(x, x);
        return Simd.Sum(x);
    }
}
