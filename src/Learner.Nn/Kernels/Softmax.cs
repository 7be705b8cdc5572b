using System.Buffers;
using System.Numerics.Tensors;

namespace Learner.Nn.Kernels;

/// <summary>Which member of the softmax family a kernel computes.</summary>
internal enum SoftmaxKind { Softmax, LogSoftmax, LogSumExp }

/// <summary>
/// Softmax, log-softmax and log-sum-exp over the middle axis of a tensor viewed as [outer, n, inner]. Every row is
/// shifted by its maximum before exponentiation (log-sum-exp shifts by 0 where the maximum is ±∞, as PyTorch does), so
/// magnitudes up to float's limits neither overflow nor give NaN. For the last axis (inner = 1) rows are contiguous;
/// otherwise columns are processed in blocks of <see cref="ColumnBlock"/> with whole-row vector operations. Rows or
/// column blocks are split across cores when the tensor is large.
/// </summary>
internal static class SoftmaxKernels
{
    /// <summary>Columns per work item when the reduced axis is not the last.</summary>
    internal const int ColumnBlock = 512;

    /// <summary>Forward. <paramref name="y"/> is [outer, n, inner] for softmax/log-softmax and [outer, inner] for log-sum-exp.</summary>
    internal static void Forward(SoftmaxKind kind, float[] x, float[] y, int outer, int n, int inner)
    {
        if (outer == 0 || inner == 0) return;
        if (n == 0)
        {
            if (kind == SoftmaxKind.LogSumExp) y.AsSpan(0, outer * inner).Fill(float.NegativeInfinity);
            return;
        }
        if (inner == 1)
        {
            RowParallel.For(outer, n, (s, e) =>
            {
                for (int r = s; r < e; r++) ForwardRow(kind, x.AsSpan(r * n, n), y, r, n);
            });
            return;
        }
        int blocks = (inner + ColumnBlock - 1) / ColumnBlock;
        RowParallel.For(outer * blocks, (long)n * Math.Min(inner, ColumnBlock), (s, e) =>
        {
            var scratch = ArrayPool<float>.Shared.Rent(3 * ColumnBlock);
            try
            {
                for (int k = s; k < e; k++)
                {
                    int p = k / blocks, q0 = k % blocks * ColumnBlock, w = Math.Min(ColumnBlock, inner - q0);
                    ForwardColumns(kind, x, y, p, q0, w, n, inner, scratch);
                }
            }
            finally { ArrayPool<float>.Shared.Return(scratch); }
        });
    }

    private static void ForwardRow(SoftmaxKind kind, ReadOnlySpan<float> xs, float[] y, int r, int n)
    {
        float m = TensorPrimitives.Max(xs);
        if (kind == SoftmaxKind.LogSumExp)
        {
            float shift = float.IsInfinity(m) ? 0f : m;
            y[r] = (float)(Math.Log(Reductions.SumExpShifted(xs, shift)) + shift);
            return;
        }
        var ys = y.AsSpan(r * n, n);
        VectorMap.Map(new ExpShift(m), xs, ys);
        double sum = Simd.Sum(ys);
        if (kind == SoftmaxKind.Softmax)
        {
            TensorPrimitives.Divide(ys, (float)sum, ys);
        }
        else
        {
            TensorPrimitives.Subtract(xs, m, ys);
            TensorPrimitives.Subtract(ys, (float)Math.Log(sum), ys);
        }
    }

    private static void ForwardColumns(SoftmaxKind kind, float[] x, float[] y, int p, int q0, int w, int n, int inner, float[] scratch)
    {
        int baseIndex = p * n * inner + q0;
        var m = scratch.AsSpan(0, w);
        var sum = scratch.AsSpan(ColumnBlock, w);
        var tmp = scratch.AsSpan(2 * ColumnBlock, w);
        x.AsSpan(baseIndex, w).CopyTo(m);
        for (int j = 1; j < n; j++) TensorPrimitives.Max(m, x.AsSpan(baseIndex + j * inner, w), m);
        if (kind == SoftmaxKind.LogSumExp)
            for (int q = 0; q < w; q++) if (float.IsInfinity(m[q])) m[q] = 0f;
        sum.Clear();
        for (int j = 0; j < n; j++)
        {
            var xr = x.AsSpan(baseIndex + j * inner, w);
            var e = kind == SoftmaxKind.LogSumExp ? tmp : y.AsSpan(baseIndex + j * inner, w);
            TensorPrimitives.Subtract(xr, m, e);
            TensorPrimitives.Exp(e, e);
            TensorPrimitives.Add(sum, e, sum);
        }
        switch (kind)
        {
            case SoftmaxKind.Softmax:
                for (int j = 0; j < n; j++) { var yr = y.AsSpan(baseIndex + j * inner, w); TensorPrimitives.Divide(yr, sum, yr); }
                break;
            case SoftmaxKind.LogSoftmax:
                TensorPrimitives.Log(sum, sum);
                for (int j = 0; j < n; j++)
                {
                    var yr = y.AsSpan(baseIndex + j * inner, w);
                    TensorPrimitives.Subtract(x.AsSpan(baseIndex + j * inner, w), m, yr);
                    TensorPrimitives.Subtract(yr, sum, yr);
                }
                break;
            default:
                TensorPrimitives.Log(sum, sum);
                TensorPrimitives.Add(sum, m, y.AsSpan(p * inner + q0, w));
                break;
        }
    }

    /// <summary>Backward: writes the input gradient <paramref name="gi"/> ([outer, n, inner]) from the upstream gradient
    /// <paramref name="g"/> (the output's shape), the input <paramref name="x"/> and the output <paramref name="y"/>.</summary>
    internal static void Backward(SoftmaxKind kind, float[] g, float[] x, float[] y, float[] gi, int outer, int n, int inner)
    {
        if (outer == 0 || inner == 0 || n == 0) return;
        if (inner == 1)
        {
            RowParallel.For(outer, n, (s, e) =>
            {
                for (int r = s; r < e; r++)
                {
                    var gir = gi.AsSpan(r * n, n);
                    switch (kind)
                    {
                        case SoftmaxKind.Softmax:
                        {
                            var gr = g.AsSpan(r * n, n); var yr = y.AsSpan(r * n, n);
                            VectorMap.Map(new SoftmaxBackwardOp(TensorPrimitives.Dot(gr, yr)), gr, yr, gir);
                            break;
                        }
                        case SoftmaxKind.LogSoftmax:
                        {
                            var gr = g.AsSpan(r * n, n);
                            VectorMap.Map(new LogSoftmaxBackwardOp((float)Simd.Sum(gr)), gr, y.AsSpan(r * n, n), gir);
                            break;
                        }
                        default:
                            VectorMap.Map(new ScaledExpShift(y[r], g[r]), x.AsSpan(r * n, n), gir);
                            break;
                    }
                }
            });
            return;
        }
        int blocks = (inner + ColumnBlock - 1) / ColumnBlock;
        RowParallel.For(outer * blocks, (long)n * Math.Min(inner, ColumnBlock), (s, e) =>
        {
            var scratch = ArrayPool<float>.Shared.Rent(ColumnBlock);
            try
            {
                for (int k = s; k < e; k++)
                {
                    int p = k / blocks, q0 = k % blocks * ColumnBlock, w = Math.Min(ColumnBlock, inner - q0);
                    BackwardColumns(kind, g, x, y, gi, p, q0, w, n, inner, scratch.AsSpan(0, w));
                }
            }
            finally { ArrayPool<float>.Shared.Return(scratch); }
        });
    }

    private static void BackwardColumns(SoftmaxKind kind, float[] g, float[] x, float[] y, float[] gi, int p, int q0, int w, int n, int inner, Span<float> acc)
    {
        int baseIndex = p * n * inner + q0;
        switch (kind)
        {
            case SoftmaxKind.Softmax:
                acc.Clear();
                for (int j = 0; j < n; j++) TensorPrimitives.MultiplyAdd(g.AsSpan(baseIndex + j * inner, w), y.AsSpan(baseIndex + j * inner, w), acc, acc);
                for (int j = 0; j < n; j++)
                {
                    var gir = gi.AsSpan(baseIndex + j * inner, w);
                    TensorPrimitives.Subtract(g.AsSpan(baseIndex + j * inner, w), acc, gir);
                    TensorPrimitives.Multiply(gir, y.AsSpan(baseIndex + j * inner, w), gir);
                }
                break;
            case SoftmaxKind.LogSoftmax:
                acc.Clear();
                for (int j = 0; j < n; j++) TensorPrimitives.Add(acc, g.AsSpan(baseIndex + j * inner, w), acc);
                for (int j = 0; j < n; j++)
                {
                    var gir = gi.AsSpan(baseIndex + j * inner, w);
                    TensorPrimitives.Exp(y.AsSpan(baseIndex + j * inner, w), gir);
                    TensorPrimitives.Multiply(gir, acc, gir);
                    TensorPrimitives.Subtract(g.AsSpan(baseIndex + j * inner, w), gir, gir);
                }
                break;
            default:
                var lse = y.AsSpan(p * inner + q0, w);
                var gout = g.AsSpan(p * inner + q0, w);
                for (int j = 0; j < n; j++)
                {
                    var gir = gi.AsSpan(baseIndex + j * inner, w);
                    TensorPrimitives.Subtract(x.AsSpan(baseIndex + j * inner, w), lse, gir);
                    TensorPrimitives.Exp(gir, gir);
                    TensorPrimitives.Multiply(gir, gout, gir);
                }
                break;
        }
    }
}
