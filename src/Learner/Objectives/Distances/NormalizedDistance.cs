using Learner.Objectives.Kernels;

namespace Learner.Objectives.Distances;

/// <summary>A distance measured on the L2-normalised rows n = e / max(‖e‖, ε) (ε = 1e-12, as
/// torch.nn.functional.normalize): <see cref="DistanceKind.NormalizedEuclidean"/> is the Euclidean distance on them,
/// pytorch-metric-learning's default <c>LpDistance(normalize_embeddings=True)</c>. The inner distance sees the
/// normalised rows; its gradient is pushed back through the normalisation exactly.</summary>
internal sealed class NormalizedDistance : PairDistance
{
    private readonly PairDistance _inner;
    private readonly Workspace<float> _normalized = new(), _norms = new(), _gradN = new();

    /// <summary>Wraps <paramref name="inner"/> (which must not itself normalise).</summary>
    public NormalizedDistance(PairDistance inner) => _inner = inner;

    /// <inheritdoc />
    public override void Prepare(ReadOnlySpan<float> embeddings, int count, int dimension)
    {
        Count = count; Dimension = dimension;
        var n = _normalized.Get(count * dimension);
        RowNormalizer.Forward(embeddings, count, dimension, RowNormalizer.DefaultEpsilon, n, _norms.Get(count));
        _inner.Prepare(n, count, dimension);
    }

    /// <inheritdoc />
    public override double Pair(int i, int j) => _inner.Pair(i, j);

    /// <inheritdoc />
    public override void Block(int rowStart, int rows, Span<float> dst) => _inner.Block(rowStart, rows, dst);

    /// <inheritdoc />
    public override void RankBlock(int rowStart, int rows, Span<float> dst) => _inner.RankBlock(rowStart, rows, dst);

    /// <inheritdoc />
    public override void BeginGradient() => _inner.BeginGradient();

    /// <inheritdoc />
    public override void AccumulatePair(int i, int j, double coef, double distance) => _inner.AccumulatePair(i, j, coef, distance);

    /// <inheritdoc />
    public override void AccumulateBlock(int rowStart, int rows, Span<float> coef, ReadOnlySpan<float> distances)
        => _inner.AccumulateBlock(rowStart, rows, coef, distances);

    /// <inheritdoc />
    public override void FinishGradient(Span<float> grad, float scale)
    {
        int n = Count, d = Dimension;
        var gn = _gradN.Get(n * d);
        _inner.FinishGradient(gn, 1f);
        RowNormalizer.Backward(gn, _normalized.Array.AsSpan(0, n * d), _norms.Array.AsSpan(0, n), n, d, RowNormalizer.DefaultEpsilon, scale, grad);
    }
}
