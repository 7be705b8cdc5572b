using System.Numerics.Tensors;
using Learner.Nn.Kernels;

namespace Learner.Nn;

public static partial class Ops
{
    /// <summary>Sum of all elements (accumulated in double), as a scalar.</summary>
    /// <param name="a">The tensor.</param>
    /// <returns>A rank-0 tensor.</returns>
    public static Tensor Sum(Tensor a)
    {
        ArgumentNullException.ThrowIfNull(a);
        var o = Tensor.CreateOwned(Array.Empty<int>(), clear: false);
        o.Data[0] = (float)Simd.Sum(a.Data);
        if (!Autograd.ShouldRecord(a)) return o;
        return Autograd.Record(o, "Sum", new[] { a }, g => new[] { Tensor.Full(g.Data[0], a.ShapeArray) });
    }

    /// <summary>Mean of all elements, as a scalar.</summary>
    /// <param name="a">The tensor.</param>
    /// <returns>A rank-0 tensor.</returns>
    public static Tensor Mean(Tensor a)
    {
        ArgumentNullException.ThrowIfNull(a);
        if (a.Size == 0) throw new ShapeMismatchException($"Mean of an empty tensor of shape {Tensor.ShapeString(a.Shape)}.");
        return Mul(Sum(a), 1f / a.Size);
    }

    /// <summary>Sum over <paramref name="axes"/>.</summary>
    /// <param name="a">The tensor.</param>
    /// <param name="axes">Axes to reduce (negative counts from the end); duplicates are an error.</param>
    /// <param name="keepDims">Keep reduced axes with length 1.</param>
    /// <returns>The reduced tensor.</returns>
    public static Tensor Sum(Tensor a, int[] axes, bool keepDims = false) => ReduceAxes(a, axes, keepDims, mean: false);

    /// <summary>Sum over one axis.</summary>
    /// <param name="a">The tensor.</param>
    /// <param name="axis">The axis.</param>
    /// <param name="keepDims">Keep the axis with length 1.</param>
    /// <returns>The reduced tensor.</returns>
    public static Tensor Sum(Tensor a, int axis, bool keepDims = false) => ReduceAxes(a, new[] { axis }, keepDims, mean: false);

    /// <summary>Mean over <paramref name="axes"/>.</summary>
    /// <param name="a">The tensor.</param>
    /// <param name="axes">Axes to reduce.</param>
    /// <param name="keepDims">Keep reduced axes with length 1.</param>
    /// <returns>The reduced tensor.</returns>
    public static Tensor Mean(Tensor a, int[] axes, bool keepDims = false) => ReduceAxes(a, axes, keepDims, mean: true);

    /// <summary>Mean over one axis.</summary>
    /// <param name="a">The tensor.</param>
    /// <param name="axis">The axis.</param>
    /// <param name="keepDims">Keep the axis with length 1.</param>
    /// <returns>The reduced tensor.</returns>
    public static Tensor Mean(Tensor a, int axis, bool keepDims = false) => ReduceAxes(a, new[] { axis }, keepDims, mean: true);

    private static bool[] AxisMask(Tensor a, int[] axes, string op)
    {
        ArgumentNullException.ThrowIfNull(axes);
        var mask = new bool[a.Rank];
        foreach (int ax in axes)
        {
            int n = ShapeUtil.NormalizeAxis(ax, a.Rank, op);
            if (mask[n]) throw new ShapeMismatchException($"{op}: axis {ax} is given twice.");
            mask[n] = true;
        }
        return mask;
    }

    private static Tensor ReduceAxes(Tensor a, int[] axes, bool keepDims, bool mean)
    {
        ArgumentNullException.ThrowIfNull(a);
        string op = mean ? "Mean" : "Sum";
        var mask = AxisMask(a, axes, op);
        var keptShape = new int[a.Rank];
        long count = 1;
        for (int i = 0; i < a.Rank; i++) { keptShape[i] = mask[i] ? 1 : a.Shape[i]; if (mask[i]) count *= a.Shape[i]; }
        if (mean && count == 0) throw new ShapeMismatchException($"Mean over an empty axis of shape {Tensor.ShapeString(a.Shape)}.");
        var o = Tensor.CreateOwned(keptShape, clear: true);
        Elementwise.ReduceToShape(a.Data, a.ShapeRef, o.Data, keptShape);
        if (mean) TensorPrimitives.Multiply(o.Data, 1f / count, o.Data);
        var outShape = keepDims ? keptShape : Squeezed(keptShape, mask);
        var result = keepDims ? o : new Tensor(o.Storage, outShape, register: true, owner: o);
        if (!Autograd.ShouldRecord(a)) return result;
        float scale = mean ? 1f / count : 1f;
        return Autograd.Record(result, op, new[] { a }, g =>
        {
            var gi = Tensor.CreateOwned(a.ShapeArray, clear: false);
            // broadcast g (viewed with kept axes) to a's shape
            var gk = new Tensor(g.Storage, keptShape, register: true, owner: g.Base ?? g);
            var s = Tensor.Full(scale, Array.Empty<int>());
            Elementwise.Binary(BinaryOp.Mul, gk.Data, keptShape, s.Data, s.ShapeRef, gi.Data, a.ShapeArray);
            return new[] { gi };
        });
    }

    private static int[] Squeezed(int[] keptShape, bool[] mask)
    {
        int n = 0;
        foreach (bool m in mask) if (!m) n++;
        var r = new int[n];
        int w = 0;
        for (int i = 0; i < keptShape.Length; i++) if (!mask[i]) r[w++] = keptShape[i];
        return r;
    }

    /// <summary>Maximum over one axis; the gradient flows to the first maximal element.</summary>
    /// <param name="a">The tensor.</param>
    /// <param name="axis">The axis.</param>
    /// <param name="keepDims">Keep the axis with length 1.</param>
    /// <returns>The maxima.</returns>
    public static Tensor Max(Tensor a, int axis, bool keepDims = false)
    {
        ArgumentNullException.ThrowIfNull(a);
        int ax = ShapeUtil.NormalizeAxis(axis, a.Rank, "Max");
        int n = a.Shape[ax];
        if (n == 0) throw new ShapeMismatchException($"Max over axis {axis} of length 0 (shape {Tensor.ShapeString(a.Shape)}).");
        int outer = (int)ShapeUtil.Product(a.Shape, 0, ax), inner = (int)ShapeUtil.Product(a.Shape, ax + 1, a.Rank);
        var keptShape = a.ShapeArray; keptShape[ax] = 1;
        var o = Tensor.CreateOwned(keptShape, clear: false);
        var arg = new int[outer * inner];
        var x = a.Data; var y = o.Data;
        for (int p = 0; p < outer; p++)
        {
            int baseIn = p * n * inner, baseOut = p * inner;
            x.Slice(baseIn, inner).CopyTo(y.Slice(baseOut, inner));
            arg.AsSpan(baseOut, inner).Clear();
            for (int j = 1; j < n; j++)
            {
                var row = x.Slice(baseIn + j * inner, inner);
                for (int q = 0; q < inner; q++)
                {
                    float v = row[q];
                    if (v > y[baseOut + q] || (float.IsNaN(v) && !float.IsNaN(y[baseOut + q]))) { y[baseOut + q] = v; arg[baseOut + q] = j; }
                }
            }
        }
        var mask = new bool[a.Rank]; mask[ax] = true;
        var result = keepDims ? o : new Tensor(o.Storage, Squeezed(keptShape, mask), register: true, owner: o);
        if (!Autograd.ShouldRecord(a)) return result;
        return Autograd.Record(result, "Max", new[] { a }, g =>
        {
            var gi = Tensor.CreateOwned(a.ShapeArray, clear: true);
            var gd = g.Data; var gid = gi.Data;
            for (int p = 0; p < outer; p++)
                for (int q = 0; q < inner; q++)
                {
                    int k = p * inner + q;
                    gid[p * n * inner + arg[k] * inner + q] += gd[k];
                }
            return new[] { gi };
        });
    }

    /// <summary>Maximum of all elements, as a scalar (gradient to the first maximal element).</summary>
    /// <param name="a">The tensor.</param>
    /// <returns>A rank-0 tensor.</returns>
    public static Tensor Max(Tensor a)
    {
        ArgumentNullException.ThrowIfNull(a);
        return Max(Reshape(a, a.Size), 0);
    }
}

public partial class Tensor
{
    /// <summary>Sum of all elements.</summary>
    /// <returns>A scalar tensor.</returns>
    public Tensor Sum() => Ops.Sum(this);

    /// <summary>Sum over an axis.</summary>
    /// <param name="axis">Axis.</param>
    /// <param name="keepDims">Keep the axis.</param>
    /// <returns>The reduced tensor.</returns>
    public Tensor Sum(int axis, bool keepDims = false) => Ops.Sum(this, axis, keepDims);

    /// <summary>Mean of all elements.</summary>
    /// <returns>A scalar tensor.</returns>
    public Tensor Mean() => Ops.Mean(this);

    /// <summary>Mean over an axis.</summary>
    /// <param name="axis">Axis.</param>
    /// <param name="keepDims">Keep the axis.</param>
    /// <returns>The reduced tensor.</returns>
    public Tensor Mean(int axis, bool keepDims = false) => Ops.Mean(this, axis, keepDims);
}
