using System.Globalization;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Learner.Nn.Modules;

namespace Learner.Nn.Optim;

/// <summary>Gradient clipping by global norm (PyTorch's <c>clip_grad_norm_</c> with the 2-norm and
/// <c>error_if_nonfinite=True</c>).</summary>
public static class GradClip
{
    /// <summary>Scales every gradient by min(1, maxNorm / (‖g‖ + 10⁻⁶)), where ‖g‖ is the L2 norm of all gradients
    /// together. Parameters without a gradient are skipped.</summary>
    /// <param name="parameters">The parameters (e.g. <c>optimizer.Parameters</c> or <c>model.Parameters()</c>).</param>
    /// <param name="maxNorm">The largest norm allowed (&gt; 0; +∞ only measures).</param>
    /// <returns>The global norm before clipping.</returns>
    /// <exception cref="NonFiniteValueException">A gradient holds NaN or infinity; the message names the parameter and index.</exception>
    public static float ClipGradNorm(IEnumerable<Tensor> parameters, float maxNorm)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        CheckMaxNorm(maxNorm);
        if (parameters is IReadOnlyList<Tensor> list)
        {
            // Indexing avoids enumerator allocations on the per-step path (e.g. optimizer.Parameters).
            double sq = 0;
            for (int i = 0; i < list.Count; i++) if (list[i].Grad is { } g) sq += SumOfSquares(g.Data);
            float norm = (float)Math.Sqrt(sq);
            if (!float.IsFinite(norm)) ThrowNonFinite(Enumerate(list));
            float coef = Coefficient(norm, maxNorm);
            if (coef < 1f) for (int i = 0; i < list.Count; i++) if (list[i].Grad is { } g) TensorPrimitives.Multiply(g.Data, coef, g.Data);
            return norm;
        }
        return ClipGradNorm(Enumerate(parameters), maxNorm);
    }

    /// <summary>Clips the gradients of named parameters (see <see cref="ClipGradNorm(IEnumerable{Tensor}, float)"/>);
    /// a non-finite gradient is reported under its name.</summary>
    /// <param name="namedParameters">(name, parameter) pairs, e.g. <c>model.NamedParameters()</c>.</param>
    /// <param name="maxNorm">The largest norm allowed.</param>
    /// <returns>The global norm before clipping.</returns>
    /// <exception cref="NonFiniteValueException">A gradient holds NaN or infinity.</exception>
    public static float ClipGradNorm(IEnumerable<KeyValuePair<string, Tensor>> namedParameters, float maxNorm)
    {
        ArgumentNullException.ThrowIfNull(namedParameters);
        CheckMaxNorm(maxNorm);
        var items = namedParameters as IReadOnlyCollection<KeyValuePair<string, Tensor>> ?? namedParameters.ToList();
        double sq = 0;
        foreach (var kv in items) if (kv.Value.Grad is { } g) sq += SumOfSquares(g.Data);
        float norm = (float)Math.Sqrt(sq);
        if (!float.IsFinite(norm)) ThrowNonFinite(items);
        float coef = Coefficient(norm, maxNorm);
        if (coef < 1f) foreach (var kv in items) if (kv.Value.Grad is { } g) TensorPrimitives.Multiply(g.Data, coef, g.Data);
        return norm;
    }

    /// <summary>Clips the gradients of every parameter of <paramref name="module"/>, reporting a non-finite gradient under its dotted name.</summary>
    /// <param name="module">The module.</param>
    /// <param name="maxNorm">The largest norm allowed.</param>
    /// <returns>The global norm before clipping.</returns>
    /// <exception cref="NonFiniteValueException">A gradient holds NaN or infinity.</exception>
    public static float ClipGradNorm(Module module, float maxNorm)
    {
        ArgumentNullException.ThrowIfNull(module);
        return ClipGradNorm(module.NamedParameters(), maxNorm);
    }

    private static IEnumerable<KeyValuePair<string, Tensor>> Enumerate(IEnumerable<Tensor> parameters)
    {
        int i = 0;
        foreach (var p in parameters)
        {
            ArgumentNullException.ThrowIfNull(p, nameof(parameters));
            yield return new(p.Name ?? $"#{i.ToString(CultureInfo.InvariantCulture)}", p);
            i++;
        }
    }

    private static void CheckMaxNorm(float maxNorm)
    {
        if (!(maxNorm > 0)) throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, "The maximum norm must be > 0.");
    }

    private static float Coefficient(float norm, float maxNorm) => Math.Min(1f, (float)(maxNorm / (norm + 1e-6)));

    private static void ThrowNonFinite(IEnumerable<KeyValuePair<string, Tensor>> items)
    {
        foreach (var kv in items)
        {
            if (kv.Value.Grad is { } g)
            {
                int bad = Kernels.Simd.IndexOfNonFinite(g.Data);
                if (bad >= 0)
                    throw new NonFiniteValueException(
                        $"ClipGradNorm: the total gradient norm is not finite: the gradient of parameter '{kv.Key}' (shape {Tensor.ShapeString(g.Shape)}) holds {g.Data[bad].ToString(CultureInfo.InvariantCulture)} at index {ShapeUtil.UnflattenString(g.Shape, bad)}.", bad);
            }
        }
        throw new NonFiniteValueException("ClipGradNorm: the total gradient norm is not finite.", -1);
    }

    /// <summary>Σx² with double accumulation in a fixed order (8 interleaved partial sums), identical on every machine.</summary>
    internal static double SumOfSquares(ReadOnlySpan<float> x)
    {
        int i = 0;
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
        if (Vector256.IsHardwareAccelerated && x.Length >= 8)
        {
            ref float r = ref MemoryMarshal.GetReference(x);
            var lo = Vector256<double>.Zero;
            var hi = Vector256<double>.Zero;
            for (; i <= x.Length - 8; i += 8)
            {
                var (l, h) = Vector256.Widen(Vector256.LoadUnsafe(ref r, (nuint)i));
                lo += l * l;
                hi += h * h;
            }
            (s0, s1, s2, s3) = (lo[0], lo[1], lo[2], lo[3]);
            (s4, s5, s6, s7) = (hi[0], hi[1], hi[2], hi[3]);
        }
        else
        {
            for (; i <= x.Length - 8; i += 8)
            {
                double a0 = x[i], a1 = x[i + 1], a2 = x[i + 2], a3 = x[i + 3], a4 = x[i + 4], a5 = x[i + 5], a6 = x[i + 6], a7 = x[i + 7];
                s0 += a0 * a0; s1 += a1 * a1; s2 += a2 * a2; s3 += a3 * a3;
                s4 += a4 * a4; s5 += a5 * a5; s6 += a6 * a6; s7 += a7 * a7;
            }
        }
        double tail = 0;
        for (; i < x.Length; i++) tail += (double)x[i] * x[i];
        return ((s0 + s4) + (s1 + s5)) + ((s2 + s6) + (s3 + s7)) + tail;
    }
}
