using Learner.Encoders;
using TorchSharp;
using static TorchSharp.torch;

namespace Learner.TorchSharp.Encoders;

/// <summary>
/// The TorchSharp port of Learner's <see cref="TsmResNet"/> (ResNet-18-style with a temporal shift at the entry of every
/// residual branch) for grayscale clips <c>[B, T, H, W]</c>, with the same parameter names and layouts
/// (<c>conv1.weight</c>, <c>bn1.running_mean</c>, <c>layer1.0.conv1.weight</c>, <c>layer2.0.downsample.0.weight</c>,
/// <c>fc.weight</c>), so checkpoints move between the two backends.
/// </summary>
public sealed class TsmResNetModule : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> _conv1, _bn1, _fc;
    private readonly nn.Module<Tensor, Tensor>? _pool;
    private readonly nn.Module<Tensor, Tensor>[] _layers;

    /// <summary>Builds the network (weights from libtorch's initialisation; <see cref="TorchSharpEncoders"/> copies the
    /// managed initialisation in instead).</summary>
    /// <param name="options">Settings (validated).</param>
    public TsmResNetModule(TsmResNetOptions options) : base(nameof(TsmResNetModule))
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        int w0 = options.Widths[0];
        _conv1 = options.ImageNetStem
            ? nn.Conv2d(1, w0, 7, stride: 2, padding: 3, bias: false)
            : nn.Conv2d(1, w0, 3, stride: 1, padding: 1, bias: false);
        register_module("conv1", _conv1);
        _bn1 = new BatchNormModule(w0, 2);
        register_module("bn1", _bn1);
        if (options.ImageNetStem) _pool = nn.MaxPool2d(3, 2, 1);
        _layers = new nn.Module<Tensor, Tensor>[4];
        int inCh = w0;
        for (int s = 0; s < 4; s++)
        {
            var blocks = new List<(string, nn.Module<Tensor, Tensor>)>();
            for (int b = 0; b < options.Blocks[s]; b++)
            {
                int stride = b == 0 && s > 0 ? 2 : 1;
                blocks.Add((b.ToString(System.Globalization.CultureInfo.InvariantCulture), new TsmBasicBlockModule(inCh, options.Widths[s], stride, options.ClipLength, options.FoldDivisor)));
                inCh = options.Widths[s];
            }
            _layers[s] = nn.Sequential(blocks);
            register_module($"layer{s + 1}", _layers[s]);
        }
        _fc = nn.Linear(inCh, options.EmbeddingDimension);
        register_module("fc", _fc);
    }

    /// <summary>The settings.</summary>
    public TsmResNetOptions Options { get; }

    /// <summary>Checks that a batch is clips <c>[B, T, H, W]</c> with this network's T.</summary>
    /// <param name="input">The batch.</param>
    /// <returns>The batch.</returns>
    /// <exception cref="Learner.Nn.ShapeMismatchException">The batch is not <c>[B, T, H, W]</c>.</exception>
    public Tensor CheckInput(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.dim() != 4 || input.shape[1] != Options.ClipLength)
            throw new Learner.Nn.ShapeMismatchException($"TsmResNet expects clips [B, {Options.ClipLength}, H, W], got {TorchOps.Shape(input)}.");
        return input;
    }

    /// <summary>Embeds clips <c>[B, T, H, W]</c> to <c>[B, D]</c>.</summary>
    /// <param name="input">The clips.</param>
    /// <returns>The embeddings.</returns>
    public override Tensor forward(Tensor input)
    {
        CheckInput(input);
        long b = input.shape[0], t = Options.ClipLength;
        using var scope = NewDisposeScope();
        var x = input.reshape(b * t, 1, input.shape[2], input.shape[3]);
        x = _bn1.call(_conv1.call(x)).relu();
        if (_pool is not null) x = _pool.call(x);
        foreach (var layer in _layers) x = layer.call(x);
        var frames = TorchOps.GlobalAvgPool(x);                          // [B·T, C]
        var clip = frames.reshape(b, t, frames.shape[1]).mean(new long[] { 1 }); // temporal average → [B, C]
        return scope.MoveToOuter(_fc.call(clip));
    }
}

/// <summary>The TorchSharp port of <see cref="TsmBasicBlock"/>: a ResNet basic block whose residual branch starts with
/// a temporal shift; parameters <c>conv1</c>, <c>bn1</c>, <c>conv2</c>, <c>bn2</c>, <c>downsample.0</c>/<c>.1</c>.</summary>
public sealed class TsmBasicBlockModule : nn.Module<Tensor, Tensor>
{
    private readonly int _clipLength, _foldDivisor;
    private readonly nn.Module<Tensor, Tensor> _conv1, _bn1, _conv2, _bn2;
    private readonly nn.Module<Tensor, Tensor>? _downsample;

    /// <summary>Builds the block.</summary>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="outChannels">Output channels.</param>
    /// <param name="stride">Stride of the first convolution and of the shortcut.</param>
    /// <param name="clipLength">Frames per clip.</param>
    /// <param name="foldDivisor">TSM fold divisor.</param>
    public TsmBasicBlockModule(int inChannels, int outChannels, int stride, int clipLength, int foldDivisor) : base(nameof(TsmBasicBlockModule))
    {
        _clipLength = clipLength;
        _foldDivisor = foldDivisor;
        _conv1 = nn.Conv2d(inChannels, outChannels, 3, stride: stride, padding: 1, bias: false);
        register_module("conv1", _conv1);
        _bn1 = new BatchNormModule(outChannels, 2);
        register_module("bn1", _bn1);
        _conv2 = nn.Conv2d(outChannels, outChannels, 3, stride: 1, padding: 1, bias: false);
        register_module("conv2", _conv2);
        _bn2 = new BatchNormModule(outChannels, 2);
        register_module("bn2", _bn2);
        if (stride != 1 || inChannels != outChannels)
        {
            _downsample = nn.Sequential(("0", nn.Conv2d(inChannels, outChannels, 1, stride: stride, bias: false)), ("1", new BatchNormModule(outChannels, 2)));
            register_module("downsample", _downsample);
        }
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var shifted = TorchOps.TemporalShift(input, _clipLength, _foldDivisor);
        var y = _bn1.call(_conv1.call(shifted)).relu();
        y = _bn2.call(_conv2.call(y));
        var identity = _downsample is null ? input : _downsample.call(input);
        return scope.MoveToOuter(y.Plus(identity).relu());
    }
}
