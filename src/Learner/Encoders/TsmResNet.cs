using Learner.Nn;
using Learner.Nn.Modules;

namespace Learner.Encoders;

/// <summary>Settings of <see cref="TsmResNet"/>: a ResNet-18-style network with temporal shift for grayscale clips.</summary>
public sealed record TsmResNetOptions
{
    /// <summary>Frames per clip T (≥ 1). Default 8.</summary>
    public int ClipLength { get; init; } = 8;

    /// <summary>Channel widths of the four stages (each ≥ 1). Default ResNet-18's 64-128-256-512.</summary>
    public int[] Widths { get; init; } = { 64, 128, 256, 512 };

    /// <summary>Residual blocks per stage (each ≥ 1). Default ResNet-18's 2-2-2-2.</summary>
    public int[] Blocks { get; init; } = { 2, 2, 2, 2 };

    /// <summary>Embedding dimension D (≥ 1). Default 128.</summary>
    public int EmbeddingDimension { get; init; } = 128;

    /// <summary>TSM's fold divisor: 1/n of the channels shift back, 1/n forward (≥ 2). Default 8.</summary>
    public int FoldDivisor { get; init; } = 8;

    /// <summary>Whether the stem downsamples (7×7 stride-2 conv and max-pool, as ImageNet ResNets) or keeps the
    /// resolution (3×3 stride-1 conv, for small 32×32 clips). Default false.</summary>
    public bool ImageNetStem { get; init; }

    /// <summary>Seed of the initialisation.</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>The paper's backbone at full width.</summary>
    public static TsmResNetOptions ResNet18 => new() { ImageNetStem = true };

    /// <summary>A small preset that trains on 2 CPU cores: widths 8-16-32-64, T = 8, 32×32 clips.</summary>
    public static TsmResNetOptions Small => new() { Widths = new[] { 8, 16, 32, 64 } };

    /// <summary>A copy with every width multiplied by <paramref name="multiplier"/> (rounded, at least 1).</summary>
    /// <param name="multiplier">The width multiplier (&gt; 0).</param>
    /// <returns>The scaled options.</returns>
    public TsmResNetOptions WithWidthMultiplier(double multiplier)
    {
        if (!(multiplier > 0) || double.IsInfinity(multiplier)) throw new ArgumentOutOfRangeException(nameof(multiplier), multiplier, "The width multiplier must be positive and finite.");
        return this with { Widths = Widths.Select(w => Math.Max(1, (int)Math.Round(w * multiplier))).ToArray() };
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (ClipLength < 1) throw new ArgumentException($"ClipLength must be ≥ 1, got {ClipLength}.", nameof(ClipLength));
        if (Widths is null || Widths.Length != 4 || Widths.Any(w => w < 1)) throw new ArgumentException($"Widths must be four positive channel counts, got [{string.Join(", ", Widths ?? Array.Empty<int>())}].", nameof(Widths));
        if (Blocks is null || Blocks.Length != 4 || Blocks.Any(b => b < 1)) throw new ArgumentException($"Blocks must be four positive block counts, got [{string.Join(", ", Blocks ?? Array.Empty<int>())}].", nameof(Blocks));
        if (EmbeddingDimension < 1) throw new ArgumentException($"EmbeddingDimension must be ≥ 1, got {EmbeddingDimension}.", nameof(EmbeddingDimension));
        if (FoldDivisor < 2) throw new ArgumentException($"FoldDivisor must be ≥ 2, got {FoldDivisor}.", nameof(FoldDivisor));
    }
}

/// <summary>
/// ResNet-18-style backbone with a temporal shift (TSM, Lin et al. 2019, "residual shift") at the entry of every
/// residual branch, for grayscale clips <c>[B, T, H, W]</c>: frames are embedded as <c>(B·T, 1, H, W)</c> images whose
/// channels exchange information with the neighbouring frames, pooled over space and time, then projected to D.
/// Parameter names follow torchvision's ResNet (<c>conv1.weight</c>, <c>bn1.running_mean</c>,
/// <c>layer1.0.conv1.weight</c>, <c>layer2.0.downsample.0.weight</c>, <c>fc.weight</c>).
/// </summary>
/// <remarks>Not thread-safe: a module holds parameters, gradients and batch-norm statistics that forward and backward mutate.</remarks>
public sealed class TsmResNet : Module
{
    private readonly Conv2d _conv1;
    private readonly BatchNorm2d _bn1;
    private readonly MaxPool2d? _pool;
    private readonly ModuleList[] _layers;
    private readonly Linear _fc;

    /// <summary>Builds the network.</summary>
    /// <param name="options">Settings (validated).</param>
    public TsmResNet(TsmResNetOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        var rng = new Rng(options.Seed);
        int w0 = options.Widths[0];
        _conv1 = RegisterModule("conv1", options.ImageNetStem
            ? new Conv2d(1, w0, 7, rng, stride: 2, padding: 3, bias: false)
            : new Conv2d(1, w0, 3, rng, padding: 1, bias: false));
        _bn1 = RegisterModule("bn1", new BatchNorm2d(w0));
        if (options.ImageNetStem) _pool = new MaxPool2d(3, 2, 1);
        _layers = new ModuleList[4];
        int inCh = w0;
        for (int s = 0; s < 4; s++)
        {
            var blocks = new Module[options.Blocks[s]];
            for (int b = 0; b < blocks.Length; b++)
            {
                int stride = b == 0 && s > 0 ? 2 : 1;
                blocks[b] = new TsmBasicBlock(inCh, options.Widths[s], stride, options.ClipLength, options.FoldDivisor, rng);
                inCh = options.Widths[s];
            }
            _layers[s] = RegisterModule($"layer{s + 1}", new ModuleList(blocks));
        }
        _fc = RegisterModule("fc", new Linear(inCh, options.EmbeddingDimension, rng));
    }

    /// <summary>The settings.</summary>
    public TsmResNetOptions Options { get; }

    /// <summary>Embeds clips <c>[B, T, H, W]</c> to <c>[B, D]</c>.</summary>
    /// <param name="input">The clips; T must equal <see cref="TsmResNetOptions.ClipLength"/>.</param>
    /// <returns>The embeddings.</returns>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        int t = Options.ClipLength;
        if (input.Rank != 4 || input.Dim(1) != t)
            throw new ShapeMismatchException($"TsmResNet expects clips [B, {t}, H, W], got {Tensor.FormatShape(input.Shape)}.");
        int b = input.Dim(0);
        var x = Ops.Reshape(input, b * t, 1, input.Dim(2), input.Dim(3));
        x = _bn1.ForwardRelu(_conv1.Forward(x));
        if (_pool is not null) x = _pool.Forward(x);
        foreach (var layer in _layers)
            foreach (var block in layer) x = block.Forward(x);
        var frames = Ops.GlobalAvgPool(x);                       // [B·T, C]
        var clip = Ops.Mean(Ops.Reshape(frames, b, t, frames.Dim(1)), 1); // temporal average → [B, C]
        return _fc.Forward(clip);
    }
}

/// <summary>A ResNet basic block whose residual branch starts with a temporal shift (TSM's residual shift).</summary>
/// <remarks>Not thread-safe (parameters, gradients, batch-norm statistics).</remarks>
public sealed class TsmBasicBlock : Module
{
    private readonly int _clipLength, _foldDivisor;
    private readonly Conv2d _conv1, _conv2;
    private readonly BatchNorm2d _bn1, _bn2;
    private readonly Sequential? _downsample;

    /// <summary>Builds the block.</summary>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="outChannels">Output channels.</param>
    /// <param name="stride">Stride of the first convolution (and of the shortcut).</param>
    /// <param name="clipLength">Frames per clip.</param>
    /// <param name="foldDivisor">TSM fold divisor.</param>
    /// <param name="rng">Initialisation generator.</param>
    public TsmBasicBlock(int inChannels, int outChannels, int stride, int clipLength, int foldDivisor, Rng rng)
    {
        _clipLength = clipLength;
        _foldDivisor = foldDivisor;
        _conv1 = RegisterModule("conv1", new Conv2d(inChannels, outChannels, 3, rng, stride: stride, padding: 1, bias: false));
        _bn1 = RegisterModule("bn1", new BatchNorm2d(outChannels));
        _conv2 = RegisterModule("conv2", new Conv2d(outChannels, outChannels, 3, rng, padding: 1, bias: false));
        _bn2 = RegisterModule("bn2", new BatchNorm2d(outChannels));
        if (stride != 1 || inChannels != outChannels)
            _downsample = RegisterModule("downsample", new Sequential(new Conv2d(inChannels, outChannels, 1, rng, stride: stride, bias: false), new BatchNorm2d(outChannels)));
    }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        var shifted = Ops.TemporalShift(input, _clipLength, _foldDivisor);
        var y = _bn1.ForwardRelu(_conv1.Forward(shifted));
        y = _bn2.Forward(_conv2.Forward(y));
        var identity = _downsample is null ? input : _downsample.Forward(input);
        return Ops.AddRelu(y, identity);
    }
}

/// <summary>The TSM ResNet behind the encoder seam.</summary>
/// <remarks>Not thread-safe; one step on one thread (see <see cref="ModuleEncoder"/>).</remarks>
public sealed class TsmResNetEncoder : ModuleEncoder
{
    /// <summary>Builds the encoder.</summary>
    /// <param name="options">Network settings; <see cref="TsmResNetOptions.Small"/> trains on 2 CPU cores.</param>
    public TsmResNetEncoder(TsmResNetOptions options)
        : base(new TsmResNet(options), options.EmbeddingDimension, $"tsm-resnet[{string.Join('-', options.Widths)}]×T{options.ClipLength}")
    {
    }
}
