namespace Learner.Nn.Modules;

/// <summary>2-D max pooling (see <see cref="Ops.MaxPool2d(Tensor, int, int?, int)"/>).</summary>
/// <param name="kernel">Window size.</param>
/// <param name="stride">Stride; defaults to the window size.</param>
/// <param name="padding">Padding (at most half the window).</param>
public sealed class MaxPool2d(int kernel, int? stride = null, int padding = 0) : Module
{
    /// <summary>Window size.</summary>
    public int Kernel { get; } = kernel;
    /// <summary>Stride.</summary>
    public int Stride { get; } = stride ?? kernel;
    /// <summary>Padding.</summary>
    public int Padding { get; } = padding;

    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => Ops.MaxPool2d(input, Kernel, Stride, Padding);
}

/// <summary>3-D max pooling (see <see cref="Ops.MaxPool3d(Tensor, int, int?, int)"/>).</summary>
/// <param name="kernel">Window size.</param>
/// <param name="stride">Stride; defaults to the window size.</param>
/// <param name="padding">Padding (at most half the window).</param>
public sealed class MaxPool3d(int kernel, int? stride = null, int padding = 0) : Module
{
    /// <summary>Window size.</summary>
    public int Kernel { get; } = kernel;
    /// <summary>Stride.</summary>
    public int Stride { get; } = stride ?? kernel;
    /// <summary>Padding.</summary>
    public int Padding { get; } = padding;

    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => Ops.MaxPool3d(input, Kernel, Stride, Padding);
}

/// <summary>2-D average pooling, count_include_pad = true (see <see cref="Ops.AvgPool2d(Tensor, int, int?, int)"/>).</summary>
/// <param name="kernel">Window size.</param>
/// <param name="stride">Stride; defaults to the window size.</param>
/// <param name="padding">Zero padding (at most half the window).</param>
public sealed class AvgPool2d(int kernel, int? stride = null, int padding = 0) : Module
{
    /// <summary>Window size.</summary>
    public int Kernel { get; } = kernel;
    /// <summary>Stride.</summary>
    public int Stride { get; } = stride ?? kernel;
    /// <summary>Padding.</summary>
    public int Padding { get; } = padding;

    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => Ops.AvgPool2d(input, Kernel, Stride, Padding);
}

/// <summary>3-D average pooling, count_include_pad = true (see <see cref="Ops.AvgPool3d(Tensor, int, int?, int)"/>).</summary>
/// <param name="kernel">Window size.</param>
/// <param name="stride">Stride; defaults to the window size.</param>
/// <param name="padding">Zero padding (at most half the window).</param>
public sealed class AvgPool3d(int kernel, int? stride = null, int padding = 0) : Module
{
    /// <summary>Window size.</summary>
    public int Kernel { get; } = kernel;
    /// <summary>Stride.</summary>
    public int Stride { get; } = stride ?? kernel;
    /// <summary>Padding.</summary>
    public int Padding { get; } = padding;

    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => Ops.AvgPool3d(input, Kernel, Stride, Padding);
}

/// <summary>2-D adaptive average pooling to a fixed output size (see <see cref="Ops.AdaptiveAvgPool2d"/>).</summary>
/// <param name="outH">Output height.</param>
/// <param name="outW">Output width.</param>
public sealed class AdaptiveAvgPool2d(int outH, int outW) : Module
{
    /// <summary>Output height.</summary>
    public int OutH { get; } = outH;
    /// <summary>Output width.</summary>
    public int OutW { get; } = outW;

    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => Ops.AdaptiveAvgPool2d(input, OutH, OutW);
}

/// <summary>3-D adaptive average pooling to a fixed output size (see <see cref="Ops.AdaptiveAvgPool3d"/>).</summary>
/// <param name="outD">Output depth.</param>
/// <param name="outH">Output height.</param>
/// <param name="outW">Output width.</param>
public sealed class AdaptiveAvgPool3d(int outD, int outH, int outW) : Module
{
    /// <summary>Output depth.</summary>
    public int OutD { get; } = outD;
    /// <summary>Output height.</summary>
    public int OutH { get; } = outH;
    /// <summary>Output width.</summary>
    public int OutW { get; } = outW;

    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => Ops.AdaptiveAvgPool3d(input, OutD, OutH, OutW);
}

/// <summary>Global average pooling [N, C, spatial...] → [N, C] (see <see cref="Ops.GlobalAvgPool"/>).</summary>
public sealed class GlobalAvgPool : Module
{
    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => Ops.GlobalAvgPool(input);
}

/// <summary>
/// Temporal shift (TSM) for inputs [N·T, C, H, W] (see <see cref="Ops.TemporalShift"/>): within each clip of
/// <see cref="ClipLength"/> frames, 1/<see cref="FoldDivisor"/> of the channels take the next frame's values and
/// another 1/<see cref="FoldDivisor"/> the previous frame's, zero-filled at the clip ends. No parameters.
/// </summary>
public sealed class TemporalShift : Module
{
    /// <summary>Creates the module.</summary>
    /// <param name="clipLength">Frames per clip (≥ 1).</param>
    /// <param name="foldDivisor">Channel fraction divisor (≥ 2); TSM uses 8.</param>
    public TemporalShift(int clipLength, int foldDivisor = 8)
    {
        if (clipLength < 1) throw new ArgumentOutOfRangeException(nameof(clipLength), clipLength, "clipLength must be ≥ 1.");
        if (foldDivisor < 2) throw new ArgumentOutOfRangeException(nameof(foldDivisor), foldDivisor, "foldDivisor must be ≥ 2.");
        ClipLength = clipLength;
        FoldDivisor = foldDivisor;
    }

    /// <summary>Frames per clip.</summary>
    public int ClipLength { get; }

    /// <summary>Channel fraction divisor.</summary>
    public int FoldDivisor { get; }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => Ops.TemporalShift(input, ClipLength, FoldDivisor);
}
