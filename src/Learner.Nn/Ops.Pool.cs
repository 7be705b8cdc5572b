using System.Numerics.Tensors;
using Learner.Nn.Kernels;

namespace Learner.Nn;

public static partial class Ops
{
    /// <summary>2-D max pooling over [N, C, H, W] (PyTorch's <c>max_pool2d</c>, floor mode): padding is implicit −∞,
    /// NaN propagates, the gradient goes to the first maximum of each window.</summary>
    /// <param name="x">Input [N, C, H, W].</param>
    /// <param name="kernel">Window size (≥ 1).</param>
    /// <param name="stride">Stride (≥ 1); defaults to <paramref name="kernel"/>.</param>
    /// <param name="padding">Padding on each side (0 ≤ padding ≤ kernel / 2).</param>
    /// <returns>The output [N, C, oH, oW].</returns>
    /// <exception cref="ShapeMismatchException">The input is not rank 4, a hyper-parameter is out of range, or the window is larger than the padded input.</exception>
    public static Tensor MaxPool2d(Tensor x, int kernel, int? stride = null, int padding = 0) =>
        MaxPool2d(x, (kernel, kernel), stride is int s ? (s, s) : null, (padding, padding));

    /// <summary>2-D max pooling with per-axis window, stride and padding (see <see cref="MaxPool2d(Tensor, int, int?, int)"/>).</summary>
    /// <param name="x">Input [N, C, H, W].</param>
    /// <param name="kernel">Window (H, W).</param>
    /// <param name="stride">Stride (H, W); defaults to <paramref name="kernel"/>.</param>
    /// <param name="padding">Padding (H, W).</param>
    /// <returns>The output [N, C, oH, oW].</returns>
    /// <exception cref="ShapeMismatchException">See the other overload.</exception>
    public static Tensor MaxPool2d(Tensor x, (int H, int W) kernel, (int H, int W)? stride = null, (int H, int W) padding = default)
    {
        var s = stride ?? kernel;
        return Pool("MaxPool2d", 2, max: true, x, new[] { 1, kernel.H, kernel.W }, new[] { 1, s.H, s.W }, new[] { 0, padding.H, padding.W });
    }

    /// <summary>3-D max pooling over [N, C, D, H, W] (PyTorch's <c>max_pool3d</c>).</summary>
    /// <param name="x">Input [N, C, D, H, W].</param>
    /// <param name="kernel">Window size (≥ 1).</param>
    /// <param name="stride">Stride (≥ 1); defaults to <paramref name="kernel"/>.</param>
    /// <param name="padding">Padding on each side (0 ≤ padding ≤ kernel / 2).</param>
    /// <returns>The output [N, C, oD, oH, oW].</returns>
    /// <exception cref="ShapeMismatchException">The input is not rank 5, a hyper-parameter is out of range, or the window is larger than the padded input.</exception>
    public static Tensor MaxPool3d(Tensor x, int kernel, int? stride = null, int padding = 0) =>
        MaxPool3d(x, (kernel, kernel, kernel), stride is int s ? (s, s, s) : null, (padding, padding, padding));

    /// <summary>3-D max pooling with per-axis window, stride and padding.</summary>
    /// <param name="x">Input [N, C, D, H, W].</param>
    /// <param name="kernel">Window (D, H, W).</param>
    /// <param name="stride">Stride (D, H, W); defaults to <paramref name="kernel"/>.</param>
    /// <param name="padding">Padding (D, H, W).</param>
    /// <returns>The output [N, C, oD, oH, oW].</returns>
    /// <exception cref="ShapeMismatchException">See the other overload.</exception>
    public static Tensor MaxPool3d(Tensor x, (int D, int H, int W) kernel, (int D, int H, int W)? stride = null, (int D, int H, int W) padding = default)
    {
        var s = stride ?? kernel;
        return Pool("MaxPool3d", 3, max: true, x, new[] { kernel.D, kernel.H, kernel.W }, new[] { s.D, s.H, s.W }, new[] { padding.D, padding.H, padding.W });
    }

    /// <summary>2-D average pooling over [N, C, H, W] (PyTorch's <c>avg_pool2d</c> with count_include_pad = true:
    /// every window is divided by kH·kW, padded zeros included).</summary>
    /// <param name="x">Input [N, C, H, W].</param>
    /// <param name="kernel">Window size (≥ 1).</param>
    /// <param name="stride">Stride (≥ 1); defaults to <paramref name="kernel"/>.</param>
    /// <param name="padding">Zero padding on each side (0 ≤ padding ≤ kernel / 2).</param>
    /// <returns>The output [N, C, oH, oW].</returns>
    /// <exception cref="ShapeMismatchException">The input is not rank 4, a hyper-parameter is out of range, or the window is larger than the padded input.</exception>
    public static Tensor AvgPool2d(Tensor x, int kernel, int? stride = null, int padding = 0) =>
        AvgPool2d(x, (kernel, kernel), stride is int s ? (s, s) : null, (padding, padding));

    /// <summary>2-D average pooling with per-axis window, stride and padding.</summary>
    /// <param name="x">Input [N, C, H, W].</param>
    /// <param name="kernel">Window (H, W).</param>
    /// <param name="stride">Stride (H, W); defaults to <paramref name="kernel"/>.</param>
    /// <param name="padding">Padding (H, W).</param>
    /// <returns>The output [N, C, oH, oW].</returns>
    /// <exception cref="ShapeMismatchException">See the other overload.</exception>
    public static Tensor AvgPool2d(Tensor x, (int H, int W) kernel, (int H, int W)? stride = null, (int H, int W) padding = default)
    {
        var s = stride ?? kernel;
        return Pool("AvgPool2d", 2, max: false, x, new[] { 1, kernel.H, kernel.W }, new[] { 1, s.H, s.W }, new[] { 0, padding.H, padding.W });
    }

    /// <summary>3-D average pooling over [N, C, D, H, W] (count_include_pad = true).</summary>
    /// <param name="x">Input [N, C, D, H, W].</param>
    /// <param name="kernel">Window size (≥ 1).</param>
    /// <param name="stride">Stride (≥ 1); defaults to <paramref name="kernel"/>.</param>
    /// <param name="padding">Zero padding on each side (0 ≤ padding ≤ kernel / 2).</param>
    /// <returns>The output [N, C, oD, oH, oW].</returns>
    /// <exception cref="ShapeMismatchException">The input is not rank 5, a hyper-parameter is out of range, or the window is larger than the padded input.</exception>
    public static Tensor AvgPool3d(Tensor x, int kernel, int? stride = null, int padding = 0) =>
        AvgPool3d(x, (kernel, kernel, kernel), stride is int s ? (s, s, s) : null, (padding, padding, padding));

    /// <summary>3-D average pooling with per-axis window, stride and padding.</summary>
    /// <param name="x">Input [N, C, D, H, W].</param>
    /// <param name="kernel">Window (D, H, W).</param>
    /// <param name="stride">Stride (D, H, W); defaults to <paramref name="kernel"/>.</param>
    /// <param name="padding">Padding (D, H, W).</param>
    /// <returns>The output [N, C, oD, oH, oW].</returns>
    /// <exception cref="ShapeMismatchException">See the other overload.</exception>
    public static Tensor AvgPool3d(Tensor x, (int D, int H, int W) kernel, (int D, int H, int W)? stride = null, (int D, int H, int W) padding = default)
    {
        var s = stride ?? kernel;
        return Pool("AvgPool3d", 3, max: false, x, new[] { kernel.D, kernel.H, kernel.W }, new[] { s.D, s.H, s.W }, new[] { padding.D, padding.H, padding.W });
    }

    private static Tensor Pool(string op, int dims, bool max, Tensor x, int[] kernel, int[] stride, int[] padding)
    {
        ArgumentNullException.ThrowIfNull(x);
        string layout = dims == 2 ? "[N, C, H, W]" : "[N, C, D, H, W]";
        if (x.Rank != dims + 2)
            throw new ShapeMismatchException($"{op}: input must be {layout} (rank {dims + 2}), got shape {Tensor.ShapeString(x.Shape)}.");
        int off = 3 - dims;
        var inSp = new int[] { 1, 1, 1 };
        for (int a = 0; a < dims; a++) inSp[a + off] = x.Shape[2 + a];
        for (int a = off; a < 3; a++)
        {
            string ax = SpatialAxisNames[a];
            if (kernel[a] < 1) throw new ShapeMismatchException($"{op}: kernel size along {ax} must be ≥ 1, got {kernel[a]}.");
            if (stride[a] < 1) throw new ShapeMismatchException($"{op}: stride along {ax} must be ≥ 1, got {stride[a]}.");
            if (padding[a] < 0 || padding[a] > kernel[a] / 2)
                throw new ShapeMismatchException($"{op}: padding along {ax} must be between 0 and half the kernel size ({kernel[a]} / 2 = {kernel[a] / 2}), got {padding[a]}.");
            if (kernel[a] > inSp[a] + 2L * padding[a])
                throw new ShapeMismatchException($"{op}: the window along {ax} (size {kernel[a]}) is larger than the padded input ({inSp[a]} + 2·{padding[a]} = {inSp[a] + 2L * padding[a]}); input {Tensor.ShapeString(x.Shape)}.");
        }
        int n = x.Shape[0], c = x.Shape[1];
        var geo = new ConvGeometry(n * c, 1, inSp[0], inSp[1], inSp[2], 1, 1, kernel[0], kernel[1], kernel[2],
            stride[0], stride[1], stride[2], padding[0], padding[1], padding[2], 1, 1, 1);
        var outShape = dims == 2 ? new[] { n, c, geo.OH, geo.OW } : new[] { n, c, geo.OD, geo.OH, geo.OW };
        var o = Tensor.CreateOwned(outShape, clear: false);
        if (max) PoolKernels.MaxForward(geo, x.Storage, o.Storage);
        else PoolKernels.AvgForward(geo, x.Storage, o.Storage);
        if (!Autograd.ShouldRecord(x)) return o;
        return Autograd.Record(o, op, new[] { x }, g =>
        {
            var gx = Tensor.CreateOwned(x.ShapeArray, clear: false);
            if (max) PoolKernels.MaxBackward(geo, x.Storage, g.Storage, gx.Storage);
            else PoolKernels.AvgBackward(geo, g.Storage, gx.Storage);
            return new Tensor?[] { gx };
        });
    }

    /// <summary>2-D adaptive average pooling (PyTorch's <c>adaptive_avg_pool2d</c>): output cell i along an axis averages
    /// input indices [⌊i·in/out⌋, ⌈(i+1)·in/out⌉).</summary>
    /// <param name="x">Input [N, C, H, W].</param>
    /// <param name="outH">Output height (≥ 1).</param>
    /// <param name="outW">Output width (≥ 1).</param>
    /// <returns>The output [N, C, outH, outW].</returns>
    /// <exception cref="ShapeMismatchException">The input is not rank 4, has an empty spatial axis, or an output size is below 1.</exception>
    public static Tensor AdaptiveAvgPool2d(Tensor x, int outH, int outW) => AdaptivePool("AdaptiveAvgPool2d", 2, x, new[] { 1, outH, outW });

    /// <summary>3-D adaptive average pooling (PyTorch's <c>adaptive_avg_pool3d</c>).</summary>
    /// <param name="x">Input [N, C, D, H, W].</param>
    /// <param name="outD">Output depth (≥ 1).</param>
    /// <param name="outH">Output height (≥ 1).</param>
    /// <param name="outW">Output width (≥ 1).</param>
    /// <returns>The output [N, C, outD, outH, outW].</returns>
    /// <exception cref="ShapeMismatchException">The input is not rank 5, has an empty spatial axis, or an output size is below 1.</exception>
    public static Tensor AdaptiveAvgPool3d(Tensor x, int outD, int outH, int outW) => AdaptivePool("AdaptiveAvgPool3d", 3, x, new[] { outD, outH, outW });

    private static Tensor AdaptivePool(string op, int dims, Tensor x, int[] outSp)
    {
        ArgumentNullException.ThrowIfNull(x);
        string layout = dims == 2 ? "[N, C, H, W]" : "[N, C, D, H, W]";
        if (x.Rank != dims + 2)
            throw new ShapeMismatchException($"{op}: input must be {layout} (rank {dims + 2}), got shape {Tensor.ShapeString(x.Shape)}.");
        int off = 3 - dims;
        var inSp = new int[] { 1, 1, 1 };
        for (int a = 0; a < dims; a++) inSp[a + off] = x.Shape[2 + a];
        for (int a = off; a < 3; a++)
        {
            if (outSp[a] < 1) throw new ShapeMismatchException($"{op}: output size along {SpatialAxisNames[a]} must be ≥ 1, got {outSp[a]}.");
            if (inSp[a] < 1) throw new ShapeMismatchException($"{op}: input {Tensor.ShapeString(x.Shape)} is empty along {SpatialAxisNames[a]}.");
        }
        int n = x.Shape[0], c = x.Shape[1], planes = n * c;
        var outShape = dims == 2 ? new[] { n, c, outSp[1], outSp[2] } : new[] { n, c, outSp[0], outSp[1], outSp[2] };
        var o = Tensor.CreateOwned(outShape, clear: false);
        PoolKernels.AdaptiveAvgForward(planes, inSp[0], inSp[1], inSp[2], outSp[0], outSp[1], outSp[2], x.Storage, o.Storage);
        if (!Autograd.ShouldRecord(x)) return o;
        return Autograd.Record(o, op, new[] { x }, g =>
        {
            var gx = Tensor.CreateOwned(x.ShapeArray, clear: false);
            PoolKernels.AdaptiveAvgBackward(planes, inSp[0], inSp[1], inSp[2], outSp[0], outSp[1], outSp[2], g.Storage, gx.Storage);
            return new Tensor?[] { gx };
        });
    }

    /// <summary>Global average pooling: the mean over every spatial axis, [N, C, ...] → [N, C] (a fast path for
    /// <c>AdaptiveAvgPool(x, 1, …, 1)</c> followed by a flatten).</summary>
    /// <param name="x">Input of rank ≥ 3, [N, C, spatial...], with a non-empty spatial extent.</param>
    /// <returns>The output [N, C].</returns>
    /// <exception cref="ShapeMismatchException">The input has rank below 3 or an empty spatial extent.</exception>
    public static Tensor GlobalAvgPool(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank < 3)
            throw new ShapeMismatchException($"GlobalAvgPool: input must be [N, C, spatial...] (rank ≥ 3), got shape {Tensor.ShapeString(x.Shape)}.");
        int n = x.Shape[0], c = x.Shape[1];
        int spatial = (int)ShapeUtil.Product(x.Shape, 2, x.Rank);
        if (spatial == 0)
            throw new ShapeMismatchException($"GlobalAvgPool: input {Tensor.ShapeString(x.Shape)} has an empty spatial extent.");
        var o = Tensor.CreateOwned(new[] { n, c }, clear: false);
        {
            ReadOnlySpan<float> xd = x.Data;
            Span<float> od = o.Data;
            for (int p = 0; p < od.Length; p++) od[p] = TensorPrimitives.Sum(xd.Slice(p * spatial, spatial)) / spatial;
        }
        if (!Autograd.ShouldRecord(x)) return o;
        return Autograd.Record(o, "GlobalAvgPool", new[] { x }, g =>
        {
            var gx = Tensor.CreateOwned(x.ShapeArray, clear: false);
            ReadOnlySpan<float> gd = g.Data;
            Span<float> gxd = gx.Data;
            for (int p = 0; p < gd.Length; p++) gxd.Slice(p * spatial, spatial).Fill(gd[p] / spatial);
            return new Tensor?[] { gx };
        });
    }
}
