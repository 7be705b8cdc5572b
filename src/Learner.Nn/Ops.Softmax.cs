using Learner.Nn.Kernels;

namespace Learner.Nn;

public static partial class Ops
{
    /// <summary>Views <paramref name="x"/> as [outer, n, inner] around <paramref name="axis"/>.</summary>
    private static (int Axis, int Outer, int N, int Inner) AxisLayout(Tensor x, int axis, string op)
    {
        if (x.Rank == 0) throw new ShapeMismatchException($"{op}: needs a tensor of rank ≥ 1, got a scalar (shape []).");
        int ax = ShapeUtil.NormalizeAxis(axis, x.Rank, op);
        return (ax, (int)ShapeUtil.Product(x.Shape, 0, ax), x.Shape[ax], (int)ShapeUtil.Product(x.Shape, ax + 1, x.Rank));
    }

    private static Tensor SoftmaxFamily(SoftmaxKind kind, string name, Tensor x, int axis)
    {
        ArgumentNullException.ThrowIfNull(x);
        var (_, outer, n, inner) = AxisLayout(x, axis, name);
        var o = Tensor.CreateOwned(x.ShapeArray, clear: false);
        SoftmaxKernels.Forward(kind, x.Storage, o.Storage, outer, n, inner);
        if (!Autograd.ShouldRecord(x)) return o;
        return Autograd.Record(o, name, new[] { x }, g =>
        {
            var gi = Tensor.CreateOwned(x.ShapeArray, clear: false);
            SoftmaxKernels.Backward(kind, g.Storage, x.Storage, o.Storage, gi.Storage, outer, n, inner);
            return new[] { gi };
        });
    }

    /// <summary>Softmax along <paramref name="axis"/>: exp(x − max) / Σ exp(x − max). Stable for any finite magnitude;
    /// −∞ entries get probability 0 (a row that is entirely −∞, or holds +∞ or NaN, gives NaN, as in PyTorch).</summary>
    /// <param name="x">The input (rank ≥ 1).</param>
    /// <param name="axis">The axis to normalise over; negative counts from the end.</param>
    /// <returns>The probabilities, same shape.</returns>
    /// <exception cref="ShapeMismatchException"><paramref name="x"/> is a scalar or <paramref name="axis"/> is out of range.</exception>
    public static Tensor Softmax(Tensor x, int axis = -1) => SoftmaxFamily(SoftmaxKind.Softmax, "Softmax", x, axis);

    /// <summary>Log-softmax along <paramref name="axis"/>: (x − max) − log Σ exp(x − max), stable for any finite magnitude.</summary>
    /// <param name="x">The input (rank ≥ 1).</param>
    /// <param name="axis">The axis; negative counts from the end.</param>
    /// <returns>The log-probabilities, same shape.</returns>
    /// <exception cref="ShapeMismatchException"><paramref name="x"/> is a scalar or <paramref name="axis"/> is out of range.</exception>
    public static Tensor LogSoftmax(Tensor x, int axis = -1) => SoftmaxFamily(SoftmaxKind.LogSoftmax, "LogSoftmax", x, axis);

    /// <summary>log Σ exp(x) along <paramref name="axis"/>, computed as m + log Σ exp(x − m) with m the maximum (0 where the
    /// maximum is ±∞, as in PyTorch: an all −∞ row gives −∞, a row holding +∞ gives +∞). An empty axis gives −∞.</summary>
    /// <param name="x">The input (rank ≥ 1).</param>
    /// <param name="axis">The axis to reduce; negative counts from the end.</param>
    /// <param name="keepDims">Keep the reduced axis with length 1.</param>
    /// <returns>The reduced tensor.</returns>
    /// <exception cref="ShapeMismatchException"><paramref name="x"/> is a scalar or <paramref name="axis"/> is out of range.</exception>
    public static Tensor LogSumExp(Tensor x, int axis = -1, bool keepDims = false)
    {
        ArgumentNullException.ThrowIfNull(x);
        var (ax, outer, n, inner) = AxisLayout(x, axis, "LogSumExp");
        var outShape = new int[keepDims ? x.Rank : x.Rank - 1];
        for (int i = 0, w = 0; i < x.Rank; i++)
        {
            if (i != ax) outShape[w++] = x.Shape[i];
            else if (keepDims) outShape[w++] = 1;
        }
        var o = Tensor.CreateOwned(outShape, clear: false);
        SoftmaxKernels.Forward(SoftmaxKind.LogSumExp, x.Storage, o.Storage, outer, n, inner);
        if (!Autograd.ShouldRecord(x)) return o;
        return Autograd.Record(o, "LogSumExp", new[] { x }, g =>
        {
            var gi = Tensor.CreateOwned(x.ShapeArray, clear: false);
            SoftmaxKernels.Backward(SoftmaxKind.LogSumExp, g.Storage, x.Storage, o.Storage, gi.Storage, outer, n, inner);
            return new[] { gi };
        });
    }
}

public partial class Tensor
{
    /// <summary>Softmax along an axis (see <see cref="Ops.Softmax"/>).</summary>
    /// <param name="axis">The axis.</param>
    /// <returns>The probabilities.</returns>
    public Tensor Softmax(int axis = -1) => Ops.Softmax(this, axis);

    /// <summary>Log-softmax along an axis (see <see cref="Ops.LogSoftmax"/>).</summary>
    /// <param name="axis">The axis.</param>
    /// <returns>The log-probabilities.</returns>
    public Tensor LogSoftmax(int axis = -1) => Ops.LogSoftmax(this, axis);

    /// <summary>Log-sum-exp along an axis (see <see cref="Ops.LogSumExp"/>).</summary>
    /// <param name="axis">The axis.</param>
    /// <param name="keepDims">Keep the axis with length 1.</param>
    /// <returns>The reduced tensor.</returns>
    public Tensor LogSumExp(int axis = -1, bool keepDims = false) => Ops.LogSumExp(this, axis, keepDims);
}
