using System.Globalization;
using System.Runtime.InteropServices;
using Learner.Encoders;
using Learner.Nn.Serialization;
using Learner.TorchSharp.Encoders;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using LTensor = Learner.Nn.Tensor;
using TTensor = TorchSharp.torch.Tensor;

namespace Learner.TorchSharp;

/// <summary>
/// Any TorchSharp <c>nn.Module&lt;Tensor, Tensor&gt;</c> mapping <c>[B, …]</c> to <c>[B, D]</c> as a Learner encoder: the
/// pretrainer, the embedder and the experiment drive it through <see cref="IEncoder"/> exactly as they drive the
/// managed encoders. Batches move to the module's device in one bulk copy; only the B×D embeddings and their gradient
/// cross back. Checkpoints are safetensors with the module's <c>state_dict</c> names, so a module whose parameter names
/// and layouts match a managed encoder's (e.g. <c>0.weight</c>, <c>0.bias</c> of a Sequential) exchanges checkpoints
/// with it in both directions.
/// </summary>
public sealed class TorchSharpEncoder : IEncoder, IDisposable
{
    /// <summary>Name of the tensor holding the TorchSharp optimizer state inside a checkpoint (bytes packed into float32).</summary>
    public const string OptimizerStateKey = "torchsharp_optimizer_state";

    private const string OptimizerBytesKey = "torchsharp.optimizer_bytes";
    private readonly nn.Module<TTensor, TTensor> _module;
    private readonly Func<TTensor, TTensor>? _prepare;
    private TTensor? _output;
    private bool _disposed;

    /// <summary>Wraps a module.</summary>
    /// <param name="module">The network; it is moved to <paramref name="device"/>.</param>
    /// <param name="embeddingDimension">D, the width of the module's output.</param>
    /// <param name="name">A short name for logs and checkpoints.</param>
    /// <param name="device">The device, or null for CUDA when available, else the CPU.</param>
    /// <param name="prepareInput">Reshapes a batch on the device before the module sees it (e.g. add a channel axis),
    /// or null.</param>
    public TorchSharpEncoder(nn.Module<TTensor, TTensor> module, int embeddingDimension, string name = "torchsharp", Device? device = null, Func<TTensor, TTensor>? prepareInput = null)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentOutOfRangeException.ThrowIfLessThan(embeddingDimension, 1);
        Device = device ?? DefaultDevice();
        _module = module;
        _module.to(Device);
        _prepare = prepareInput;
        EmbeddingDimension = embeddingDimension;
        Name = name;
    }

    /// <summary>CUDA when TorchSharp finds a GPU, else the CPU.</summary>
    /// <returns>The device.</returns>
    public static Device DefaultDevice() => cuda.is_available() ? CUDA : CPU;

    /// <summary>The device the module runs on.</summary>
    public Device Device { get; }

    /// <summary>The wrapped module.</summary>
    public nn.Module<TTensor, TTensor> Module => _module;

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public int EmbeddingDimension { get; }

    /// <inheritdoc />
    public long ParameterCount => _module.parameters().Sum(p => p.numel());

    /// <inheritdoc />
    public bool Training { get; private set; } = true;

    /// <inheritdoc />
    public void SetTraining(bool training)
    {
        Training = training;
        _module.train(training);
    }

    /// <inheritdoc />
    public void Forward(LTensor input, Span<float> embeddings, bool requiresGrad)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(input);
        DiscardGraph();
        int b = input.Shape[0];
        if (embeddings.Length != b * EmbeddingDimension)
            throw new ArgumentException($"{Name}: the embeddings span holds {embeddings.Length} values, expected {b} × {EmbeddingDimension}.", nameof(embeddings));
        var shape = new long[input.Rank];
        for (int i = 0; i < shape.Length; i++) shape[i] = input.Shape[i];
        using var scope = NewDisposeScope();
        var x = tensor(input.ToArray(), shape).to(Device);
        TTensor output;
        using (requiresGrad ? null : no_grad())
            output = _module.call(_prepare is null ? x : _prepare(x));
        if (output.dim() != 2 || output.shape[0] != b || output.shape[1] != EmbeddingDimension)
            throw new Learner.Nn.ShapeMismatchException($"{Name}: the module returned {TorchOps.Shape(output)}, expected [{b}, {EmbeddingDimension}].");
        CopyOut(output, embeddings);
        if (requiresGrad) _output = scope.MoveToOuter(output);
    }

    /// <inheritdoc />
    public void Backward(ReadOnlySpan<float> embeddingGradient)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var output = _output ?? throw new InvalidOperationException($"{Name}: Backward needs a Forward with requiresGrad: true first.");
        if (embeddingGradient.Length != output.numel())
            throw new ArgumentException($"{Name}: the gradient holds {embeddingGradient.Length} values, expected {output.numel()}.", nameof(embeddingGradient));
        using var scope = NewDisposeScope();
        try { output.backward(new[] { tensor(embeddingGradient.ToArray(), output.shape).to(Device) }); }
        finally { DiscardGraph(); }
    }

    /// <inheritdoc />
    public void DiscardGraph()
    {
        _output?.Dispose();
        _output = null;
    }

    /// <inheritdoc />
    public IEncoderOptimizer CreateOptimizer(EncoderOptimizerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return new TorchSharpOptimizer(this, options);
    }

    /// <inheritdoc />
    public void Save(string path, IEncoderOptimizer? optimizer = null, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var entries = new List<KeyValuePair<string, LTensor>>();
        foreach (var (key, value) in _module.state_dict())
            if (IsCheckpointed(value)) entries.Add(new(key, ToLearner(value)));
        var meta = new Dictionary<string, string>(StringComparer.Ordinal);
        if (metadata is not null) foreach (var kv in metadata) meta[kv.Key] = kv.Value;
        meta[Checkpoint.ReservedMetadataPrefix + "format"] = Checkpoint.FormatId;
        meta[Checkpoint.ReservedMetadataPrefix + "module"] = _module.GetType().FullName ?? Name;
        if (optimizer is not null)
        {
            var bytes = Unwrap(optimizer).SaveState();
            var packed = new float[(bytes.Length + 3) / 4];
            bytes.CopyTo(MemoryMarshal.AsBytes(packed.AsSpan()));
            entries.Add(new(OptimizerStateKey, new LTensor(packed, packed.Length)));
            meta[OptimizerBytesKey] = bytes.Length.ToString(CultureInfo.InvariantCulture);
        }
        Safetensors.Save(path, entries, meta);
    }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, string> Load(string path, IEncoderOptimizer? optimizer = null, bool strict = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var file = Safetensors.Load(path);
        var targets = _module.state_dict().Where(kv => IsCheckpointed(kv.Value)).ToList();
        var problems = new List<string>();
        foreach (var (key, target) in targets)
        {
            if (!file.Tensors.TryGetValue(key, out var source)) { if (strict) problems.Add($"missing {key} [{string.Join(", ", target.shape)}]"); continue; }
            if (!source.Shape.ToArray().Select(v => (long)v).SequenceEqual(target.shape))
                problems.Add($"{key}: checkpoint {LTensor.FormatShape(source.Shape)}, module [{string.Join(", ", target.shape)}]");
        }
        if (strict)
        {
            var names = targets.Select(t => t.Key).ToHashSet(StringComparer.Ordinal);
            foreach (var e in file.Entries)
                if (!names.Contains(e.Name) && e.Name != OptimizerStateKey && !e.Name.StartsWith(Checkpoint.OptimizerPrefix, StringComparison.Ordinal))
                    problems.Add($"unexpected {e.Name} {LTensor.FormatShape(e.Shape)}");
        }
        byte[]? optimizerBytes = null;
        if (optimizer is not null)
        {
            if (!file.Tensors.TryGetValue(OptimizerStateKey, out var packed) || !file.Metadata.TryGetValue(OptimizerBytesKey, out var lengthText)
                || !int.TryParse(lengthText, NumberStyles.None, CultureInfo.InvariantCulture, out int length) || length > packed.Size * 4)
                problems.Add("the checkpoint holds no TorchSharp optimizer state (it was saved without an optimizer, or by another backend)");
            else optimizerBytes = MemoryMarshal.AsBytes(packed.Data).Slice(0, length).ToArray();
        }
        if (problems.Count > 0)
            throw new CheckpointException(path, $"the checkpoint does not fit {Name}:{Environment.NewLine}  " + string.Join(Environment.NewLine + "  ", problems));
        using (no_grad())
        {
            foreach (var (key, target) in targets)
            {
                if (!file.Tensors.TryGetValue(key, out var source)) continue;
                using var host = tensor(source.ToArray(), target.shape);
                using var converted = host.to(target.dtype);
                target.copy_(converted);
            }
        }
        if (optimizerBytes is not null) Unwrap(optimizer!).LoadState(optimizerBytes);
        return file.Metadata;
    }

    /// <summary>Copies a tensor (any device, any real type) into a new float32 Learner tensor of the same shape (rank 0
    /// stays rank 0, as Learner.Nn's scalar buffers such as <c>num_batches_tracked</c>).</summary>
    /// <param name="value">The tensor.</param>
    /// <returns>The host copy.</returns>
    public static LTensor ToLearner(TTensor value)
    {
        ArgumentNullException.ThrowIfNull(value);
        using var detached = value.detach();
        using var host = detached.to(ScalarType.Float32, CPU).contiguous();
        var data = host.data<float>().ToArray();
        var shape = value.shape.Select(v => checked((int)v)).ToArray();
        return new LTensor(data, shape);
    }

    /// <summary>Float32 parameters and buffers, and integer buffers (batch norm's <c>num_batches_tracked</c>, which
    /// Learner.Nn keeps as a float scalar) go into checkpoints.</summary>
    private static bool IsCheckpointed(TTensor value) =>
        value.dtype is ScalarType.Float32 or ScalarType.Int64 or ScalarType.Int32;

    private static void CopyOut(TTensor output, Span<float> destination)
    {
        using var detached = output.detach();
        using var host = detached.cpu().contiguous();
        host.data<float>().ToArray().AsSpan().CopyTo(destination);
    }

    private TorchSharpOptimizer Unwrap(IEncoderOptimizer optimizer) =>
        optimizer is TorchSharpOptimizer t && ReferenceEquals(t.Owner, this)
            ? t
            : throw new ArgumentException($"The optimizer was not created by this {Name} encoder.", nameof(optimizer));

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed) return;
        DiscardGraph();
        _module.Dispose();
        _disposed = true;
    }

    /// <summary>AdamW or SGD from torch.optim over the module's parameters, behind the Learner optimizer seam.</summary>
    private sealed class TorchSharpOptimizer : IEncoderOptimizer
    {
        private readonly OptimizerHelper _optimizer;
        private readonly List<Parameter> _parameters;

        public TorchSharpOptimizer(TorchSharpEncoder owner, EncoderOptimizerOptions options)
        {
            Owner = owner;
            _parameters = owner._module.parameters().ToList();
            _optimizer = options.Kind == OptimizerKind.Sgd
                ? optim.SGD(_parameters, options.LearningRate, options.Momentum, 0, options.WeightDecay, options.Nesterov)
                : optim.AdamW(_parameters, options.LearningRate, options.Betas.Beta1, options.Betas.Beta2, 1e-8, options.WeightDecay);
            _learningRate = options.LearningRate;
        }

        public TorchSharpEncoder Owner { get; }

        private double _learningRate;

        public double LearningRate
        {
            get => _learningRate;
            set
            {
                _learningRate = value;
                foreach (var g in _optimizer.ParamGroups) g.LearningRate = value;
            }
        }

        public long StepCount { get; private set; }

        public void ZeroGrad() => _optimizer.zero_grad();

        public double ClipGradNorm(double maxNorm) => nn.utils.clip_grad_norm_(_parameters, maxNorm);

        public void CheckGradientsFinite()
        {
            for (int i = 0; i < _parameters.Count; i++)
            {
                using var g = _parameters[i].GradOrNull();
                if (g is null) continue;
                using var finite = isfinite(g).all();
                if (!finite.item<bool>())
                    throw new Learner.Nn.NonFiniteValueException($"{Owner.Name}: the gradient of parameter {i} is not finite.", i);
            }
        }

        public void Step()
        {
            _optimizer.step();
            StepCount++;
        }

        public byte[] SaveState()
        {
            using var stream = new MemoryStream();
            using (var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true))
            {
                writer.Write(StepCount);
                _optimizer.save_state_dict(writer);
            }
            return stream.ToArray();
        }

        public void LoadState(byte[] bytes)
        {
            using var reader = new BinaryReader(new MemoryStream(bytes));
            StepCount = reader.ReadInt64();
            _optimizer.load_state_dict(reader);
        }
    }
}
