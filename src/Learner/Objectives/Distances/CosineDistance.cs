using System.Numerics.Tensors;
using Learner.Nn.Kernels;
using Learner.Objectives.Kernels;

namespace Learner.Objectives.Distances;

/// <summary>Cosine distance d(i, j) = 1 − n_i·n_j with n = e / max(‖e‖, ε).</summary>
internal sealed class CosineDistance : PairDistance
{
    private readonly Workspace<float> _normalized = new(), _norms = new(), _gradN = new();

    /// <inheritdoc />
    public override void Prepare(ReadOnlySpan<float> embeddings, int count, int dimension)
    {
        Count = count; Dimension = dimension;
        RowNormalizer.Forward(embeddings, count, dimension, RowNormalizer.DefaultEpsilon,
            _normalized.Get(count * dimension), _norms.Get(count));
    }

    private ReadOnlySpan<float> N(int i) => _normalized.Array.AsSpan(i * Dimension, Dimension);

    /// <inheritdoc />
    public override double Pair(int i, int j) => 1.0 - Simd.Dot(N(i), N(j));

    /// <inheritdoc />
    public override void Block(int rowStart, int rows, Span<float> dst)
    {
        int n = Count, d = Dimension;
        var all = _normalized.Array.AsSpan(0, n * d);
        var mine = all.Slice(rowStart * d, rows * d);
        Gemm.Sgemm(false, true, rows, n, d, -1f, mine, d, all, d, 0f, dst, n);
        TensorPrimitives.Add(dst.Slice(0, rows * n), 1f, dst.Slice(0, rows * n));
    }

    /// <inheritdoc />
    public override void BeginGradient() => _gradN.Get(Count * Dimension, clear: true);

    /// <inheritdoc />
    public override void AccumulatePair(int i, int j, double coef, double distance)
    {
        int d = Dimension;
        var g = _gradN.Array;
        float c = (float)coef;
        TensorPrimitives.MultiplyAdd(N(j), -c, g.AsSpan(i * d, d), g.AsSpan(i * d, d));
        TensorPrimitives.MultiplyAdd(N(i), -c, g.AsSpan(j * d, d), g.AsSpan(j * d, d));
    }

    /// <inheritdoc />
    public override void AccumulateBlock(int rowStart, int rows, Span<float> coef, ReadOnlySpan<float> distances)
    {
        int n = Count, d = Dimension;
        var all = _normalized.Array.AsSpan(0, n * d);
        var g = _gradN.Array.AsSpan(0, n * d);
        var c = coef.Slice(0, rows * n);
        // ∂d_ij/∂n_i = −n_j, ∂d_ij/∂n_j = −n_i.
        Gemm.Sgemm(false, false, rows, d, n, -1f, c, n, all, d, 1f, g.Slice(rowStart * d, rows * d), d);
        Gemm.Sgemm(true, false, n, d, rows, -1f, c, n, all.Slice(rowStart * d, rows * d), d, 1f, g, d);
    }

    /// <inheritdoc />
    public override void FinishGradient(Span<float> grad, float scale)
    {
        int n = Count, d = Dimension;
        RowNormalizer.Backward(_gradN.Array.AsSpan(0, n * d), _normalized.Array.AsSpan(0, n * d), _norms.Array.AsSpan(0, n),
            n, d, RowNormalizer.DefaultEpsilon, scale, grad);
    }
}
