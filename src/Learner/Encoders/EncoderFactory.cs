using Learner.Nn;

namespace Learner.Encoders;

/// <summary>Settings for <see cref="EncoderFactory.Create"/>: an architecture by name and its size.</summary>
public sealed record EncoderOptions
{
    /// <summary>"mlp", "cnn2d", "tsm-resnet" or "volume". Default "tsm-resnet".</summary>
    public string Architecture { get; init; } = "tsm-resnet";

    /// <summary>Embedding dimension D of the backbone (≥ 1). Default 128.</summary>
    public int EmbeddingDimension { get; init; } = 128;

    /// <summary>Frames per clip for "tsm-resnet". Default 8.</summary>
    public int ClipLength { get; init; } = 8;

    /// <summary>Width multiplier applied to the architecture's preset (&gt; 0). Default 1.</summary>
    public double WidthMultiplier { get; init; } = 1;

    /// <summary>The backbone's preset: "small" (default; for "tsm-resnet" widths 8-16-32-64 on a 3×3 stride-1 stem, which
    /// trains on 2 CPU cores) or, for "tsm-resnet" only, "resnet18" — the paper's backbone, ResNet-18's widths
    /// 64-128-256-512 behind the ImageNet stem (7×7 stride-2 convolution and 3×3 stride-2 max pooling,
    /// <see cref="Encoders.TsmResNetOptions.ResNet18"/>). <see cref="WidthMultiplier"/> scales either.</summary>
    public string Preset { get; init; } = "small";

    /// <summary>The presets <see cref="Preset"/> takes.</summary>
    public static IReadOnlyList<string> Presets { get; } = new[] { "small", "resnet18" };

    /// <summary>Input features for "mlp" (≥ 1 when that architecture is chosen).</summary>
    public int InputFeatures { get; init; }

    /// <summary>Input channels of "cnn2d" and "volume" (≥ 1; must be 1 for the other architectures). Default 1: grayscale
    /// frames <c>[H, W]</c> or volumes <c>[D, H, W]</c>. Above 1, "cnn2d" takes scans <c>[C, H, W]</c> — for example a
    /// clip of C frames read as C channels, with no temporal modelling, about a tenth of the "tsm-resnet" preset's
    /// cost per step (docs/results.md, "Compute or patients") — and "volume" takes <c>[C, D, H, W]</c>.</summary>
    public int InputChannels { get; init; } = 1;

    /// <summary>Width of an optional projection head after the backbone (0: none). Default 0.</summary>
    public int ProjectionDimension { get; init; }

    /// <summary>L2-normalise the encoder's output. Default false.</summary>
    public bool NormalizeOutput { get; init; }

    /// <summary>Initialisation seed.</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>The architectures <see cref="EncoderFactory.Create"/> knows.</summary>
    public static IReadOnlyList<string> Architectures { get; } = new[] { "mlp", "cnn2d", "tsm-resnet", "volume" };

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (!Architectures.Contains(Architecture))
            throw new ArgumentException($"Architecture '{Architecture}' is unknown; allowed: {string.Join(", ", Architectures)}.", nameof(Architecture));
        if (EmbeddingDimension < 1) throw new ArgumentException($"EmbeddingDimension must be ≥ 1, got {EmbeddingDimension}.", nameof(EmbeddingDimension));
        if (Preset is null || !Presets.Contains(Preset))
            throw new ArgumentException($"Preset '{Preset}' is unknown; allowed: {string.Join(", ", Presets)}.", nameof(Preset));
        if (Preset == "resnet18" && Architecture != "tsm-resnet")
            throw new ArgumentException($"Preset 'resnet18' is the \"tsm-resnet\" backbone's; Architecture is '{Architecture}'.", nameof(Preset));
        if (!(WidthMultiplier > 0) || double.IsInfinity(WidthMultiplier)) throw new ArgumentException(FormattableString.Invariant($"WidthMultiplier must be positive, got {WidthMultiplier}."), nameof(WidthMultiplier));
        if (ProjectionDimension < 0) throw new ArgumentException($"ProjectionDimension must be ≥ 0, got {ProjectionDimension}.", nameof(ProjectionDimension));
        if (Architecture == "mlp" && InputFeatures < 1) throw new ArgumentException($"InputFeatures must be ≥ 1 for the mlp architecture, got {InputFeatures}.", nameof(InputFeatures));
        if (Architecture == "tsm-resnet" && ClipLength < 1) throw new ArgumentException($"ClipLength must be ≥ 1, got {ClipLength}.", nameof(ClipLength));
        if (InputChannels < 1) throw new ArgumentException($"InputChannels must be ≥ 1, got {InputChannels}.", nameof(InputChannels));
        if (InputChannels != 1 && Architecture is not ("cnn2d" or "volume"))
            throw new ArgumentException($"InputChannels = {InputChannels} applies to \"cnn2d\" and \"volume\" only; Architecture is '{Architecture}' (leave InputChannels at 1).", nameof(InputChannels));
    }
}

/// <summary>Creates the built-in encoders by name, with an optional projection head.</summary>
public static class EncoderFactory
{
    /// <summary>Creates an encoder.</summary>
    /// <param name="options">The settings (validated; the message names a bad option).</param>
    /// <returns>The encoder.</returns>
    public static IEncoder Create(EncoderOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        ModuleEncoder backbone = options.Architecture switch
        {
            "mlp" => new MlpEncoder(MlpOptions(options)),
            "cnn2d" => new Cnn2dEncoder(Cnn2dOptions(options)),
            "volume" => new VolumeEncoder(VolumeOptions(options)),
            _ => new TsmResNetEncoder(TsmResNetOptions(options)),
        };
        if (options.ProjectionDimension == 0 && !options.NormalizeOutput) return backbone;
        var wrapped = new ProjectedModule(backbone.Module, options.EmbeddingDimension, options.ProjectionDimension, null, options.NormalizeOutput, HeadRng(options));
        return new WrappedEncoder(backbone, wrapped);
    }

    /// <summary>The settings of the "mlp" backbone that <see cref="Create"/> builds: hidden widths 256-256 scaled by
    /// <see cref="EncoderOptions.WidthMultiplier"/>.</summary>
    /// <param name="options">The settings.</param>
    /// <returns>The backbone's settings.</returns>
    public static MlpEncoderOptions MlpOptions(EncoderOptions options) =>
        new() { InputFeatures = options.InputFeatures, Hidden = new[] { Scale(256, options), Scale(256, options) }, EmbeddingDimension = options.EmbeddingDimension, Seed = options.Seed };

    /// <summary>The settings of the "cnn2d" backbone that <see cref="Create"/> builds: widths 16-32-64, scaled, on
    /// <see cref="EncoderOptions.InputChannels"/> input channels.</summary>
    /// <param name="options">The settings.</param>
    /// <returns>The backbone's settings.</returns>
    public static ConvEncoderOptions Cnn2dOptions(EncoderOptions options) =>
        new() { InputChannels = options.InputChannels, Widths = new[] { Scale(16, options), Scale(32, options), Scale(64, options) }, EmbeddingDimension = options.EmbeddingDimension, Seed = options.Seed };

    /// <summary>The settings of the "volume" backbone that <see cref="Create"/> builds: <see cref="VolumeEncoder.Small"/>'s
    /// widths 8-16-32-64, scaled, on <see cref="EncoderOptions.InputChannels"/> input channels.</summary>
    /// <param name="options">The settings.</param>
    /// <returns>The backbone's settings.</returns>
    public static ConvEncoderOptions VolumeOptions(EncoderOptions options) =>
        VolumeEncoder.Small with { InputChannels = options.InputChannels, Widths = new[] { Scale(8, options), Scale(16, options), Scale(32, options), Scale(64, options) }, EmbeddingDimension = options.EmbeddingDimension, Seed = options.Seed };

    /// <summary>The settings of the "tsm-resnet" backbone that <see cref="Create"/> builds: <see cref="TsmResNetOptions.Small"/>
    /// (or, with <see cref="EncoderOptions.Preset"/> "resnet18", <see cref="TsmResNetOptions.ResNet18"/>) scaled, with the
    /// clip length, D and seed of <paramref name="options"/>.</summary>
    /// <param name="options">The settings.</param>
    /// <returns>The backbone's settings.</returns>
    public static TsmResNetOptions TsmResNetOptions(EncoderOptions options) =>
        (options.Preset == "resnet18" ? Encoders.TsmResNetOptions.ResNet18 : Encoders.TsmResNetOptions.Small).WithWidthMultiplier(options.WidthMultiplier)
            with { ClipLength = options.ClipLength, EmbeddingDimension = options.EmbeddingDimension, Seed = options.Seed };

    private static int Scale(int width, EncoderOptions options) => Math.Max(1, (int)Math.Round(width * options.WidthMultiplier));

    /// <summary>The generator that initialises the projection head <see cref="Create"/> adds.</summary>
    /// <param name="options">The settings.</param>
    /// <returns>The generator.</returns>
    internal static Rng HeadRng(EncoderOptions options) => new Rng(options.Seed).Fork(0x4EAD);

    /// <summary>A built-in encoder with a head: the backbone's input handling, then the wrapped module's head.</summary>
    private sealed class WrappedEncoder(ModuleEncoder inner, ProjectedModule module)
        : ModuleEncoder(module, module.OutputDimension, inner.Name + (module.OutputDimension != inner.EmbeddingDimension ? $"+head{module.OutputDimension}" : "+l2"))
    {
        protected internal override Tensor PrepareInput(Tensor input) => inner.PrepareInput(input);
    }
}
