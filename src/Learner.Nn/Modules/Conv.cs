namespace Learner.Nn.Modules;

/// <summary>Shared validation and PyTorch-default initialisation for convolution modules.</summary>
internal static class ConvInit
{
    internal static void CheckChannels(string module, int inChannels, int outChannels, int groups)
    {
        if (inChannels < 1) throw new ArgumentOutOfRangeException(nameof(inChannels), inChannels, $"{module}: inChannels must be ≥ 1.");
        if (outChannels < 1) throw new ArgumentOutOfRangeException(nameof(outChannels), outChannels, $"{module}: outChannels must be ≥ 1.");
        if (groups < 1) throw new ArgumentOutOfRangeException(nameof(groups), groups, $"{module}: groups must be ≥ 1.");
        if (inChannels % groups != 0 || outChannels % groups != 0)
            throw new ShapeMismatchException($"{module}: groups = {groups} must divide inChannels = {inChannels} and outChannels = {outChannels}.");
    }

    internal static void CheckPositive(string module, string what, ReadOnlySpan<int> values, int min)
    {
        foreach (int v in values)
            if (v < min) throw new ArgumentOutOfRangeException(what, v, $"{module}: every {what} entry must be ≥ {min}.");
    }

    /// <summary>PyTorch's default: weight ~ U(−1/√fan_in, 1/√fan_in) (kaiming_uniform with a = √5), bias likewise.</summary>
    internal static (Tensor Weight, Tensor? Bias) Create(Rng rng, int[] weightShape, int outChannels, bool bias)
    {
        ArgumentNullException.ThrowIfNull(rng);
        long fanIn = ShapeUtil.Product(weightShape, 1, weightShape.Length);
        float bound = (float)(1.0 / Math.Sqrt(fanIn));
        var w = Tensor.Uniform(rng, -bound, bound, weightShape);
        var b = bias ? Tensor.Uniform(rng, -bound, bound, outChannels) : null;
        return (w, b);
    }
}

/// <summary>
/// A 2-D convolution layer (PyTorch's <c>nn.Conv2d</c>): parameters <c>weight</c> [Cout, Cin/groups, kH, kW] and
/// optional <c>bias</c> [Cout], initialised as PyTorch does by default (uniform in ±1/√fan_in, fan_in = Cin/groups·kH·kW).
/// </summary>
public sealed class Conv2d : Module
{
    /// <summary>Creates the layer with a square kernel and equal stride/padding/dilation on both axes.</summary>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="outChannels">Output channels.</param>
    /// <param name="kernelSize">Kernel height and width.</param>
    /// <param name="rng">Generator for the initial weights.</param>
    /// <param name="stride">Stride.</param>
    /// <param name="padding">Zero padding on each side.</param>
    /// <param name="dilation">Dilation.</param>
    /// <param name="groups">Channel groups (divides both channel counts).</param>
    /// <param name="bias">Whether the layer has a bias.</param>
    public Conv2d(int inChannels, int outChannels, int kernelSize, Rng rng, int stride = 1, int padding = 0, int dilation = 1, int groups = 1, bool bias = true)
        : this(inChannels, outChannels, (kernelSize, kernelSize), rng, (stride, stride), (padding, padding), (dilation, dilation), groups, bias) { }

    /// <summary>Creates the layer with per-axis kernel size, stride, padding and dilation.</summary>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="outChannels">Output channels.</param>
    /// <param name="kernelSize">Kernel (H, W).</param>
    /// <param name="rng">Generator for the initial weights.</param>
    /// <param name="stride">Stride (H, W).</param>
    /// <param name="padding">Padding (H, W).</param>
    /// <param name="dilation">Dilation (H, W).</param>
    /// <param name="groups">Channel groups.</param>
    /// <param name="bias">Whether the layer has a bias.</param>
    public Conv2d(int inChannels, int outChannels, (int H, int W) kernelSize, Rng rng, (int H, int W) stride, (int H, int W) padding, (int H, int W) dilation, int groups = 1, bool bias = true)
    {
        ConvInit.CheckChannels(nameof(Conv2d), inChannels, outChannels, groups);
        ConvInit.CheckPositive(nameof(Conv2d), nameof(kernelSize), new[] { kernelSize.H, kernelSize.W }, 1);
        ConvInit.CheckPositive(nameof(Conv2d), nameof(stride), new[] { stride.H, stride.W }, 1);
        ConvInit.CheckPositive(nameof(Conv2d), nameof(padding), new[] { padding.H, padding.W }, 0);
        ConvInit.CheckPositive(nameof(Conv2d), nameof(dilation), new[] { dilation.H, dilation.W }, 1);
        InChannels = inChannels; OutChannels = outChannels; KernelSize = kernelSize;
        Stride = stride; Padding = padding; Dilation = dilation; Groups = groups;
        var (w, b) = ConvInit.Create(rng, new[] { outChannels, inChannels / groups, kernelSize.H, kernelSize.W }, outChannels, bias);
        Weight = RegisterParameter("weight", w);
        if (b is not null) Bias = RegisterParameter("bias", b);
    }

    /// <summary>Input channels.</summary>
    public int InChannels { get; }
    /// <summary>Output channels.</summary>
    public int OutChannels { get; }
    /// <summary>Kernel size (H, W).</summary>
    public (int H, int W) KernelSize { get; }
    /// <summary>Stride (H, W).</summary>
    public (int H, int W) Stride { get; }
    /// <summary>Zero padding (H, W).</summary>
    public (int H, int W) Padding { get; }
    /// <summary>Dilation (H, W).</summary>
    public (int H, int W) Dilation { get; }
    /// <summary>Channel groups.</summary>
    public int Groups { get; }
    /// <summary>The weight [Cout, Cin/groups, kH, kW].</summary>
    public Tensor Weight { get; }
    /// <summary>The bias [Cout], or null.</summary>
    public Tensor? Bias { get; }

    /// <summary>Convolves <paramref name="input"/> [N, Cin, H, W].</summary>
    /// <param name="input">The input.</param>
    /// <returns>[N, Cout, oH, oW].</returns>
    public override Tensor Forward(Tensor input) => Ops.Conv2d(input, Weight, Bias, Stride, Padding, Dilation, Groups);
}

/// <summary>
/// A 3-D convolution layer (PyTorch's <c>nn.Conv3d</c>): parameters <c>weight</c> [Cout, Cin/groups, kD, kH, kW] and
/// optional <c>bias</c> [Cout], initialised as PyTorch does by default (uniform in ±1/√fan_in).
/// </summary>
public sealed class Conv3d : Module
{
    /// <summary>Creates the layer with a cubic kernel and equal stride/padding/dilation on every axis.</summary>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="outChannels">Output channels.</param>
    /// <param name="kernelSize">Kernel depth, height and width.</param>
    /// <param name="rng">Generator for the initial weights.</param>
    /// <param name="stride">Stride.</param>
    /// <param name="padding">Zero padding on each side.</param>
    /// <param name="dilation">Dilation.</param>
    /// <param name="groups">Channel groups (divides both channel counts).</param>
    /// <param name="bias">Whether the layer has a bias.</param>
    public Conv3d(int inChannels, int outChannels, int kernelSize, Rng rng, int stride = 1, int padding = 0, int dilation = 1, int groups = 1, bool bias = true)
        : this(inChannels, outChannels, (kernelSize, kernelSize, kernelSize), rng, (stride, stride, stride), (padding, padding, padding), (dilation, dilation, dilation), groups, bias) { }

    /// <summary>Creates the layer with per-axis kernel size, stride, padding and dilation.</summary>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="outChannels">Output channels.</param>
    /// <param name="kernelSize">Kernel (D, H, W).</param>
    /// <param name="rng">Generator for the initial weights.</param>
    /// <param name="stride">Stride (D, H, W).</param>
    /// <param name="padding">Padding (D, H, W).</param>
    /// <param name="dilation">Dilation (D, H, W).</param>
    /// <param name="groups">Channel groups.</param>
    /// <param name="bias">Whether the layer has a bias.</param>
    public Conv3d(int inChannels, int outChannels, (int D, int H, int W) kernelSize, Rng rng, (int D, int H, int W) stride, (int D, int H, int W) padding, (int D, int H, int W) dilation, int groups = 1, bool bias = true)
    {
        ConvInit.CheckChannels(nameof(Conv3d), inChannels, outChannels, groups);
        ConvInit.CheckPositive(nameof(Conv3d), nameof(kernelSize), new[] { kernelSize.D, kernelSize.H, kernelSize.W }, 1);
        ConvInit.CheckPositive(nameof(Conv3d), nameof(stride), new[] { stride.D, stride.H, stride.W }, 1);
        ConvInit.CheckPositive(nameof(Conv3d), nameof(padding), new[] { padding.D, padding.H, padding.W }, 0);
        ConvInit.CheckPositive(nameof(Conv3d), nameof(dilation), new[] { dilation.D, dilation.H, dilation.W }, 1);
        InChannels = inChannels; OutChannels = outChannels; KernelSize = kernelSize;
        Stride = stride; Padding = padding; Dilation = dilation; Groups = groups;
        var (w, b) = ConvInit.Create(rng, new[] { outChannels, inChannels / groups, kernelSize.D, kernelSize.H, kernelSize.W }, outChannels, bias);
        Weight = RegisterParameter("weight", w);
        if (b is not null) Bias = RegisterParameter("bias", b);
    }

    /// <summary>Input channels.</summary>
    public int InChannels { get; }
    /// <summary>Output channels.</summary>
    public int OutChannels { get; }
    /// <summary>Kernel size (D, H, W).</summary>
    public (int D, int H, int W) KernelSize { get; }
    /// <summary>Stride (D, H, W).</summary>
    public (int D, int H, int W) Stride { get; }
    /// <summary>Zero padding (D, H, W).</summary>
    public (int D, int H, int W) Padding { get; }
    /// <summary>Dilation (D, H, W).</summary>
    public (int D, int H, int W) Dilation { get; }
    /// <summary>Channel groups.</summary>
    public int Groups { get; }
    /// <summary>The weight [Cout, Cin/groups, kD, kH, kW].</summary>
    public Tensor Weight { get; }
    /// <summary>The bias [Cout], or null.</summary>
    public Tensor? Bias { get; }

    /// <summary>Convolves <paramref name="input"/> [N, Cin, D, H, W].</summary>
    /// <param name="input">The input.</param>
    /// <returns>[N, Cout, oD, oH, oW].</returns>
    public override Tensor Forward(Tensor input) => Ops.Conv3d(input, Weight, Bias, Stride, Padding, Dilation, Groups);
}
