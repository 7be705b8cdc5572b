using Learner.Nn;
using Learner.Nn.Modules;

namespace Learner.Encoders;

/// <summary>Settings of the plain convolutional encoders (<see cref="Cnn2dEncoder"/> and <see cref="VolumeEncoder"/>).</summary>
public sealed record ConvEncoderOptions
{
    /// <summary>Input channels (1 for grayscale frames or volumes). Default 1.</summary>
    public int InputChannels { get; init; } = 1;

    /// <summary>Widths of the conv–batch-norm–ReLU stages; every stage after the first halves the resolution
    /// (stride 2). Default 16-32-64.</summary>
    public int[] Widths { get; init; } = { 16, 32, 64 };

    /// <summary>Embedding dimension D (≥ 1). Default 128.</summary>
    public int EmbeddingDimension { get; init; } = 128;

    /// <summary>Seed of the initialisation.</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (InputChannels < 1) throw new ArgumentException($"InputChannels must be ≥ 1, got {InputChannels}.", nameof(InputChannels));
        if (Widths is null || Widths.Length == 0 || Widths.Any(w => w < 1)) throw new ArgumentException($"Widths must be one or more positive channel counts, got [{string.Join(", ", Widths ?? Array.Empty<int>())}].", nameof(Widths));
        if (EmbeddingDimension < 1) throw new ArgumentException($"EmbeddingDimension must be ≥ 1, got {EmbeddingDimension}.", nameof(EmbeddingDimension));
    }

    /// <summary>"" for one input channel, else "&lt;C&gt;ch:" (so an encoder's name tells a multi-channel one apart).</summary>
    internal static string ChannelsPrefix(ConvEncoderOptions options) =>
        options.InputChannels == 1 ? "" : options.InputChannels.ToString(System.Globalization.CultureInfo.InvariantCulture) + "ch:";

    internal Sequential Build(bool volumetric)
    {
        Validate();
        var rng = new Rng(Seed);
        var net = new Sequential();
        int c = InputChannels;
        for (int s = 0; s < Widths.Length; s++)
        {
            int stride = s == 0 ? 1 : 2;
            if (volumetric)
            {
                net.Add(new Conv3d(c, Widths[s], 3, rng, stride: stride, padding: 1, bias: false));
                net.Add(new BatchNorm3d(Widths[s]));
            }
            else
            {
                net.Add(new Conv2d(c, Widths[s], 3, rng, stride: stride, padding: 1, bias: false));
                net.Add(new BatchNorm2d(Widths[s]));
            }
            net.Add(new Relu());
            c = Widths[s];
        }
        net.Add(new GlobalAvgPool());
        net.Add(new Linear(c, EmbeddingDimension, rng));
        return net;
    }
}

/// <summary>A small 2-D CNN for single frames or images, <c>[B, H, W]</c> (grayscale) or <c>[B, C, H, W]</c> — with
/// <see cref="ConvEncoderOptions.InputChannels"/> = T, also clips <c>[B, T, H, W]</c> read with their frames as channels.</summary>
/// <remarks>Not thread-safe; one step on one thread (see <see cref="ModuleEncoder"/>).</remarks>
public sealed class Cnn2dEncoder : ModuleEncoder
{
    private readonly int _channels;

    /// <summary>Builds the encoder.</summary>
    /// <param name="options">Settings (validated).</param>
    public Cnn2dEncoder(ConvEncoderOptions options)
        : base((options ?? throw new ArgumentNullException(nameof(options))).Build(volumetric: false), options.EmbeddingDimension,
               $"cnn2d[{ConvEncoderOptions.ChannelsPrefix(options)}{string.Join('-', options.Widths)}]")
        => _channels = options.InputChannels;

    /// <inheritdoc />
    protected internal override Tensor PrepareInput(Tensor input)
    {
        if (input.Rank == 3 && _channels == 1) input = Ops.Unsqueeze(input, 1);
        if (input.Rank != 4 || input.Dim(1) != _channels)
            throw new ShapeMismatchException($"{Name} expects [B, H, W] or [B, {_channels}, H, W], got {Tensor.FormatShape(input.Shape)}.");
        return input;
    }
}

/// <summary>A 3-D CNN for volumes <c>[B, D, H, W]</c> (for example 32³ MRI-like volumes) or <c>[B, C, D, H, W]</c>.</summary>
/// <remarks>Not thread-safe; one step on one thread (see <see cref="ModuleEncoder"/>).</remarks>
public sealed class VolumeEncoder : ModuleEncoder
{
    private readonly int _channels;

    /// <summary>Builds the encoder.</summary>
    /// <param name="options">Settings (validated); <see cref="Small"/> suits 32³ volumes on 2 CPU cores.</param>
    public VolumeEncoder(ConvEncoderOptions options)
        : base((options ?? throw new ArgumentNullException(nameof(options))).Build(volumetric: true), options.EmbeddingDimension,
               $"volume3d[{ConvEncoderOptions.ChannelsPrefix(options)}{string.Join('-', options.Widths)}]")
        => _channels = options.InputChannels;

    /// <summary>A small preset for 32³ volumes: widths 8-16-32-64 (resolution 32→16→8→4).</summary>
    public static ConvEncoderOptions Small => new() { Widths = new[] { 8, 16, 32, 64 } };

    /// <inheritdoc />
    protected internal override Tensor PrepareInput(Tensor input)
    {
        if (input.Rank == 4 && _channels == 1) input = Ops.Unsqueeze(input, 1);
        if (input.Rank != 5 || input.Dim(1) != _channels)
            throw new ShapeMismatchException($"{Name} expects [B, D, H, W] or [B, {_channels}, D, H, W], got {Tensor.FormatShape(input.Shape)}.");
        return input;
    }
}
