using Learner.Nn.Kernels;
using System.Numerics.Tensors;

namespace Learner.Objectives.Kernels;

/// <summary>y-aware targets: t_ik = K(y_i − y_k) / Σ_{j≠i} K(y_i − y_j) with the Gaussian kernel
/// K(δ) = exp(−δ²/(2σ²)), computed max-subtracted so that no row underflows.</summary>
internal readonly struct KernelTargets : ISoftmaxTargets
{
    private readonly float[] _scores;
    private readonly int _n;
    private readonly float _negHalfInvVar;
    private readonly float _weight;

    public KernelTargets(float[] scores, int n, float sigma, float weight)
    {
        _scores = scores; _n = n; _negHalfInvVar = -0.5f / (sigma * sigma); _weight = weight;
    }

    public float AnchorWeight(int i) => _weight;

    public double TargetDot(int i, ReadOnlySpan<float> logits, Span<float> scratch)
    {
        var y = _scores.AsSpan(0, _n);
        var t = scratch.Slice(0, _n);
        TensorPrimitives.Subtract(y, y[i], t);
        TensorPrimitives.Multiply(t, t, t);
        TensorPrimitives.Multiply(t, _negHalfInvVar, t);
        t[i] = float.NegativeInfinity;
        float m = TensorPrimitives.Max(t);
        TensorPrimitives.Subtract(t, m, t);
        TensorPrimitives.Exp(t, t);
        double z = Simd.Sum(t);
        TensorPrimitives.Multiply(t, (float)(1.0 / z), t);
        t[i] = 0f;
        return Simd.Dot(t, logits);
    }

    public void SubtractTargets(int i, Span<float> row, float scale, ReadOnlySpan<float> scratch)
        => TensorPrimitives.MultiplyAdd(scratch.Slice(0, _n), -scale, row, row);
}
