using System.Numerics.Tensors;
using Learner.Nn.Kernels;
using Learner.Objectives.Kernels;

namespace Learner.Objectives.Distances;

/// <summary>Euclidean distance d = sqrt(‖e_i − e_j‖² + ε), or its square d = ‖e_i − e_j‖².</summary>
/// <remarks>Blocks come from the expansion ‖a‖² + ‖b‖² − 2a·b (one GEMM); entries where that expansion cancels
/// (‖a − b‖² below 1/16 of ‖a‖² + ‖b‖², i.e. near-coincident points) are recomputed exactly.</remarks>
internal sealed class EuclideanDistance : PairDistance
{
    /// <summary>ε inside the square root.</summary>
    public const double Epsilon = 1e-12;

    private readonly bool _squared;
    private readonly Workspace<float> _e = new(), _sqNorms = new(), _grad = new(), _diff = new();
    private readonly Workspace<double> _diag = new();

    public EuclideanDistance(bool squared) => _squared = squared;

    /// <inheritdoc />
    public override void Prepare(ReadOnlySpan<float> embeddings, int count, int dimension)
    {
        Count = count; Dimension = dimension;
        var e = _e.Get(count * dimension);
        embeddings.CopyTo(e);
        var sq = _sqNorms.Get(count);
        for (int i = 0; i < count; i++) { var r = e.Slice(i * dimension, dimension); sq[i] = (float)Simd.Dot(r, r); }
    }

    private ReadOnlySpan<float> E(int i) => _e.Array.AsSpan(i * Dimension, Dimension);

    /// <inheritdoc />
    public override double Pair(int i, int j)
    {
        double sq = Simd.SquaredDistance(E(i), E(j));
        return _squared ? sq : Math.Sqrt(sq + Epsilon);
    }

    /// <inheritdoc />
    public override void Block(int rowStart, int rows, Span<float> dst)
    {
        int n = Count, d = Dimension;
        var all = _e.Array.AsSpan(0, n * d);
        Gemm.Sgemm(false, true, rows, n, d, -2f, all.Slice(rowStart * d, rows * d), d, all, d, 0f, dst, n);
        var sq = _sqNorms.Array.AsSpan(0, n);
        for (int r = 0; r < rows; r++)
        {
            int i = rowStart + r;
            var row = dst.Slice(r * n, n);
            TensorPrimitives.Add(row, sq, row);
            TensorPrimitives.Add(row, sq[i], row);
            float si = sq[i];
            for (int j = 0; j < n; j++)
                if (row[j] * 16f < si + sq[j]) row[j] = (float)Simd.SquaredDistance(E(i), E(j));
            if (_squared) continue;
            TensorPrimitives.Max(row, 0f, row);
            TensorPrimitives.Add(row, (float)Epsilon, row);
            TensorPrimitives.Sqrt(row, row);
        }
    }

    /// <inheritdoc />
    public override void RankBlock(int rowStart, int rows, Span<float> dst)
    {
        // ‖a‖² + ‖b‖² − 2a·b ranks like the distance; no square root, no exact recomputation.
        int n = Count, d = Dimension;
        var all = _e.Array.AsSpan(0, n * d);
        Gemm.Sgemm(false, true, rows, n, d, -2f, all.Slice(rowStart * d, rows * d), d, all, d, 0f, dst, n);
        var sq = _sqNorms.Array.AsSpan(0, n);
        for (int r = 0; r < rows; r++)
        {
            var row = dst.Slice(r * n, n);
            TensorPrimitives.Add(row, sq, row);
            TensorPrimitives.Add(row, sq[rowStart + r], row);
        }
    }

    /// <inheritdoc />
    public override void BeginGradient()
    {
        _grad.Get(Count * Dimension, clear: true);
        _diag.Get(Count, clear: true);
    }

    /// <inheritdoc />
    public override void AccumulatePair(int i, int j, double coef, double distance)
    {
        // ∂d/∂e_i = (e_i − e_j)/d (Euclidean) or 2(e_i − e_j) (squared); ∂d/∂e_j = −∂d/∂e_i. The difference is formed
        // first so that near-coincident points do not cancel.
        if (coef == 0 || i == j) return;
        double c = _squared ? 2 * coef : coef / distance;
        int d = Dimension;
        var g = _grad.Array;
        var diff = _diff.Get(d);
        TensorPrimitives.Subtract(E(i), E(j), diff);
        TensorPrimitives.MultiplyAdd(diff, (float)c, g.AsSpan(i * d, d), g.AsSpan(i * d, d));
        TensorPrimitives.MultiplyAdd(diff, (float)-c, g.AsSpan(j * d, d), g.AsSpan(j * d, d));
    }

    /// <inheritdoc />
    public override void AccumulateBlock(int rowStart, int rows, Span<float> coef, ReadOnlySpan<float> distances)
    {
        int n = Count, d = Dimension;
        var c = coef.Slice(0, rows * n);
        if (_squared) TensorPrimitives.Multiply(c, 2f, c);
        else TensorPrimitives.Divide(c, distances.Slice(0, rows * n), c);
        var diag = _diag.Array;
        var sq = _sqNorms.Array;
        for (int r = 0; r < rows; r++)
        {
            int i = rowStart + r;
            var row = c.Slice(r * n, n);
            var dist = distances.Slice(r * n, n);
            double rowSum = 0;
            for (int j = 0; j < n; j++)
            {
                float cj = row[j];
                if (cj == 0f) continue;
                float dj = dist[j];
                float sqd = _squared ? dj : dj * dj;
                if (sqd * 16f < sq[i] + sq[j])
                {
                    // Near-coincident pair: the expanded form would cancel, take the difference directly.
                    row[j] = 0f;
                    AccumulatePair(i, j, _squared ? cj / 2.0 : (double)cj * dj, dj);
                    continue;
                }
                rowSum += cj;
                diag[j] += cj;
            }
            diag[i] += rowSum;
        }
        var all = _e.Array.AsSpan(0, n * d);
        var g = _grad.Array.AsSpan(0, n * d);
        Gemm.Sgemm(false, false, rows, d, n, -1f, c, n, all, d, 1f, g.Slice(rowStart * d, rows * d), d);
        Gemm.Sgemm(true, false, n, d, rows, -1f, c, n, all.Slice(rowStart * d, rows * d), d, 1f, g, d);
    }

    /// <inheritdoc />
    public override void FinishGradient(Span<float> grad, float scale)
    {
        int n = Count, d = Dimension;
        var g = _grad.Array;
        var diag = _diag.Array;
        for (int i = 0; i < n; i++)
        {
            var o = grad.Slice(i * d, d);
            TensorPrimitives.MultiplyAdd(E(i), (float)diag[i], g.AsSpan(i * d, d), o);
            if (scale != 1f) TensorPrimitives.Multiply(o, scale, o);
        }
    }
}
