using Learner.Nn.Kernels;

namespace Learner.Nn;

public static partial class Ops
{
    /// <summary>
    /// 2-D convolution (cross-correlation, as PyTorch's <c>conv2d</c>): input [N, Cin, H, W], weight
    /// [Cout, Cin/groups, kH, kW], optional bias [Cout] → [N, Cout, oH, oW] with
    /// <c>o = ⌊(in + 2·padding − dilation·(k − 1) − 1) / stride⌋ + 1</c>.
    /// </summary>
    /// <param name="input">Input [N, Cin, H, W].</param>
    /// <param name="weight">Weight [Cout, Cin/groups, kH, kW].</param>
    /// <param name="bias">Optional bias [Cout].</param>
    /// <param name="stride">Stride along H and W (≥ 1).</param>
    /// <param name="padding">Zero padding on each side of H and W (≥ 0).</param>
    /// <param name="dilation">Spacing between kernel taps (≥ 1).</param>
    /// <param name="groups">Number of channel groups (divides Cin and Cout); groups = Cin is a depthwise convolution.</param>
    /// <returns>The output [N, Cout, oH, oW].</returns>
    /// <exception cref="ShapeMismatchException">Ranks, channels or groups do not fit, a hyper-parameter is out of range,
    /// or the dilated kernel is larger than the padded input.</exception>
    public static Tensor Conv2d(Tensor input, Tensor weight, Tensor? bias = null, int stride = 1, int padding = 0, int dilation = 1, int groups = 1) =>
        Conv2d(input, weight, bias, (stride, stride), (padding, padding), (dilation, dilation), groups);

    /// <summary>2-D convolution with per-axis stride, padding and dilation (see <see cref="Conv2d(Tensor, Tensor, Tensor?, int, int, int, int)"/>).</summary>
    /// <param name="input">Input [N, Cin, H, W].</param>
    /// <param name="weight">Weight [Cout, Cin/groups, kH, kW].</param>
    /// <param name="bias">Optional bias [Cout].</param>
    /// <param name="stride">Stride (H, W), each ≥ 1.</param>
    /// <param name="padding">Zero padding (H, W), each ≥ 0.</param>
    /// <param name="dilation">Dilation (H, W), each ≥ 1.</param>
    /// <param name="groups">Number of channel groups.</param>
    /// <returns>The output [N, Cout, oH, oW].</returns>
    /// <exception cref="ShapeMismatchException">See the other overload.</exception>
    public static Tensor Conv2d(Tensor input, Tensor weight, Tensor? bias, (int H, int W) stride, (int H, int W) padding, (int H, int W) dilation, int groups = 1) =>
        ConvNd("Conv2d", 2, input, weight, bias, new[] { 1, stride.H, stride.W }, new[] { 0, padding.H, padding.W }, new[] { 1, dilation.H, dilation.W }, groups);

    /// <summary>
    /// 3-D convolution (PyTorch's <c>conv3d</c>): input [N, Cin, D, H, W], weight [Cout, Cin/groups, kD, kH, kW],
    /// optional bias [Cout] → [N, Cout, oD, oH, oW].
    /// </summary>
    /// <param name="input">Input [N, Cin, D, H, W].</param>
    /// <param name="weight">Weight [Cout, Cin/groups, kD, kH, kW].</param>
    /// <param name="bias">Optional bias [Cout].</param>
    /// <param name="stride">Stride along every spatial axis (≥ 1).</param>
    /// <param name="padding">Zero padding on each side of every spatial axis (≥ 0).</param>
    /// <param name="dilation">Spacing between kernel taps (≥ 1).</param>
    /// <param name="groups">Number of channel groups (divides Cin and Cout).</param>
    /// <returns>The output [N, Cout, oD, oH, oW].</returns>
    /// <exception cref="ShapeMismatchException">Ranks, channels or groups do not fit, a hyper-parameter is out of range,
    /// or the dilated kernel is larger than the padded input.</exception>
    public static Tensor Conv3d(Tensor input, Tensor weight, Tensor? bias = null, int stride = 1, int padding = 0, int dilation = 1, int groups = 1) =>
        Conv3d(input, weight, bias, (stride, stride, stride), (padding, padding, padding), (dilation, dilation, dilation), groups);

    /// <summary>3-D convolution with per-axis stride, padding and dilation (see <see cref="Conv3d(Tensor, Tensor, Tensor?, int, int, int, int)"/>).</summary>
    /// <param name="input">Input [N, Cin, D, H, W].</param>
    /// <param name="weight">Weight [Cout, Cin/groups, kD, kH, kW].</param>
    /// <param name="bias">Optional bias [Cout].</param>
    /// <param name="stride">Stride (D, H, W), each ≥ 1.</param>
    /// <param name="padding">Zero padding (D, H, W), each ≥ 0.</param>
    /// <param name="dilation">Dilation (D, H, W), each ≥ 1.</param>
    /// <param name="groups">Number of channel groups.</param>
    /// <returns>The output [N, Cout, oD, oH, oW].</returns>
    /// <exception cref="ShapeMismatchException">See the other overload.</exception>
    public static Tensor Conv3d(Tensor input, Tensor weight, Tensor? bias, (int D, int H, int W) stride, (int D, int H, int W) padding, (int D, int H, int W) dilation, int groups = 1) =>
        ConvNd("Conv3d", 3, input, weight, bias, new[] { stride.D, stride.H, stride.W }, new[] { padding.D, padding.H, padding.W }, new[] { dilation.D, dilation.H, dilation.W }, groups);

    private static readonly string[] SpatialAxisNames = { "D", "H", "W" };

    /// <summary>Shared validation and autograd for 2-D and 3-D convolutions. Hyper-parameter arrays are (D, H, W);
    /// for 2-D the depth entries are 1, 0, 1.</summary>
    private static Tensor ConvNd(string op, int dims, Tensor input, Tensor weight, Tensor? bias, int[] stride, int[] padding, int[] dilation, int groups)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(weight);
        string layout = dims == 2 ? "[N, C, H, W]" : "[N, C, D, H, W]";
        string wLayout = dims == 2 ? "[Cout, Cin/groups, kH, kW]" : "[Cout, Cin/groups, kD, kH, kW]";
        if (input.Rank != dims + 2)
            throw new ShapeMismatchException($"{op}: input must be {layout} (rank {dims + 2}), got shape {Tensor.ShapeString(input.Shape)}.");
        if (weight.Rank != dims + 2)
            throw new ShapeMismatchException($"{op}: weight must be {wLayout} (rank {dims + 2}), got shape {Tensor.ShapeString(weight.Shape)}.");
        CheckHyper(op, dims, stride, padding, dilation);
        if (groups < 1) throw new ShapeMismatchException($"{op}: groups must be ≥ 1, got {groups}.");
        int n = input.Shape[0], c = input.Shape[1], cout = weight.Shape[0];
        if (c < 1 || cout < 1)
            throw new ShapeMismatchException($"{op}: input {Tensor.ShapeString(input.Shape)} and weight {Tensor.ShapeString(weight.Shape)} must have at least one channel.");
        if (c % groups != 0)
            throw new ShapeMismatchException($"{op}: input channels {c} (input {Tensor.ShapeString(input.Shape)}) are not divisible by groups = {groups}.");
        if (cout % groups != 0)
            throw new ShapeMismatchException($"{op}: output channels {cout} (weight {Tensor.ShapeString(weight.Shape)}) are not divisible by groups = {groups}.");
        if (weight.Shape[1] != c / groups)
            throw new ShapeMismatchException($"{op}: weight {Tensor.ShapeString(weight.Shape)} has {weight.Shape[1]} input channels per group, but input {Tensor.ShapeString(input.Shape)} with groups = {groups} needs {c / groups}.");
        if (bias is not null && (bias.Rank != 1 || bias.Shape[0] != cout))
            throw new ShapeMismatchException($"{op}: bias must be [{cout}] (weight {Tensor.ShapeString(weight.Shape)}), got {Tensor.ShapeString(bias.Shape)}.");

        // Spatial sizes as (D, H, W).
        int off = dims == 2 ? 1 : 0;
        var inSp = new int[3]; var k = new int[3];
        inSp[0] = 1; k[0] = 1;
        for (int a = 0; a < dims; a++) { inSp[a + off] = input.Shape[2 + a]; k[a + off] = weight.Shape[2 + a]; }
        for (int a = off; a < 3; a++)
        {
            if (k[a] < 1) throw new ShapeMismatchException($"{op}: weight {Tensor.ShapeString(weight.Shape)} has an empty kernel along {SpatialAxisNames[a]}.");
            long span = (long)dilation[a] * (k[a] - 1) + 1, avail = (long)inSp[a] + 2L * padding[a];
            if (span > avail)
                throw new ShapeMismatchException($"{op}: the kernel along {SpatialAxisNames[a]} (size {k[a]}, dilation {dilation[a]}: span {span}) is larger than the padded input ({inSp[a]} + 2·{padding[a]} = {avail}); input {Tensor.ShapeString(input.Shape)}, weight {Tensor.ShapeString(weight.Shape)}.");
        }
        var geo = new ConvGeometry(n, c, inSp[0], inSp[1], inSp[2], cout, groups, k[0], k[1], k[2],
            stride[0], stride[1], stride[2], padding[0], padding[1], padding[2], dilation[0], dilation[1], dilation[2]);
        var outShape = dims == 2 ? new[] { n, cout, geo.OH, geo.OW } : new[] { n, cout, geo.OD, geo.OH, geo.OW };
        var o = Tensor.CreateOwned(outShape, clear: false);
        ConvKernels.Forward(geo, input.Storage, weight.Storage, bias?.Storage, o.Storage);

        var inputs = bias is null ? new[] { input, weight } : new[] { input, weight, bias };
        if (!Autograd.ShouldRecord(inputs)) return o;
        return Autograd.Record(o, op, inputs, g =>
        {
            var grads = new Tensor?[inputs.Length];
            Tensor? gx = input.RequiresGrad ? Tensor.CreateOwned(input.ShapeArray, clear: false) : null;
            Tensor? gw = weight.RequiresGrad ? Tensor.CreateOwned(weight.ShapeArray, clear: false) : null;
            Tensor? gb = bias is not null && bias.RequiresGrad ? Tensor.CreateOwned(bias.ShapeArray, clear: false) : null;
            ConvKernels.Backward(geo, g.Storage, input.Storage, weight.Storage, gx?.Storage, gw?.Storage, gb?.Storage);
            grads[0] = gx; grads[1] = gw;
            if (bias is not null) grads[2] = gb;
            return grads;
        });
    }

    private static void CheckHyper(string op, int dims, int[] stride, int[] padding, int[] dilation)
    {
        for (int a = 3 - dims; a < 3; a++)
        {
            if (stride[a] < 1) throw new ShapeMismatchException($"{op}: stride along {SpatialAxisNames[a]} must be ≥ 1, got {stride[a]}.");
            if (padding[a] < 0) throw new ShapeMismatchException($"{op}: padding along {SpatialAxisNames[a]} must be ≥ 0, got {padding[a]}.");
            if (dilation[a] < 1) throw new ShapeMismatchException($"{op}: dilation along {SpatialAxisNames[a]} must be ≥ 1, got {dilation[a]}.");
        }
    }
}
