using System.Globalization;
using Learner.Nn;
using Learner.Nn.Modules;
using Learner.Nn.Optim;
using Learner.Nn.Serialization;

namespace Learner.Encoders;

/// <summary>
/// The managed implementation of the encoder seam: wraps any Learner.Nn <see cref="Module"/> whose forward maps a batch
/// <c>[B, …]</c> to embeddings <c>[B, D]</c>. Tensor storage of each step lives in a <see cref="TensorScope"/> that the
/// encoder opens in <see cref="Forward"/> and closes after <see cref="Backward"/>, so steady-state steps reuse pooled
/// buffers.
/// </summary>
/// <remarks>Not thread-safe, and thread-affine for one step: a step's <see cref="Forward"/>, <see cref="Backward"/> and
/// <see cref="DiscardGraph"/> must run on one thread (the step's tensor scope is that thread's). A call from a second
/// thread while a forward runs or its graph is pending throws <see cref="InvalidOperationException"/> naming the type and
/// both threads before it touches the graph, the gradients or the scope; the owning thread can still finish or discard
/// the step. Between steps the encoder may move to another thread.</remarks>
public class ModuleEncoder : IEncoder
{
    private TensorScope? _scope;
    private Tensor? _output;
    private int _ownerThread; // managed id of the thread in Forward or holding the pending graph; 0 = none

    /// <summary>Wraps a module.</summary>
    /// <param name="module">The network; its output must be <c>[B, embeddingDimension]</c>.</param>
    /// <param name="embeddingDimension">D.</param>
    /// <param name="name">Description for logs; defaults to the module's type name.</param>
    public ModuleEncoder(Module module, int embeddingDimension, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentOutOfRangeException.ThrowIfLessThan(embeddingDimension, 1);
        Module = module;
        EmbeddingDimension = embeddingDimension;
        Name = name ?? module.GetType().Name;
    }

    /// <summary>The wrapped network.</summary>
    public Module Module { get; }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public int EmbeddingDimension { get; }

    /// <inheritdoc />
    public long ParameterCount => Module.ParameterCount;

    /// <inheritdoc />
    public bool Training => Module.Training;

    /// <inheritdoc />
    public void SetTraining(bool training) => Module.Train(training);

    /// <summary>Brings a batch into the layout the module expects (e.g. adds a channel axis); identity by default.</summary>
    /// <param name="input">The batch as it comes from the data layer.</param>
    /// <returns>The module's input.</returns>
    protected internal virtual Tensor PrepareInput(Tensor input) => input;

    /// <summary>Runs the module on a batch: <see cref="PrepareInput"/>, then the module's forward.</summary>
    /// <param name="input">The batch.</param>
    /// <returns>The embeddings tensor <c>[B, D]</c>.</returns>
    protected virtual Tensor Run(Tensor input) => Module.Forward(PrepareInput(input));

    /// <inheritdoc />
    public void Forward(Tensor input, Span<float> embeddings, bool requiresGrad)
    {
        ArgumentNullException.ThrowIfNull(input);
        Claim(nameof(Forward));
        if (_scope is not null)
            throw new InvalidOperationException($"{Name}: a forward with requiresGrad is still pending; call Backward or DiscardGraph first.");
        TensorScope scope;
        int b;
        try
        {
            if (input.Rank == 0) throw new ShapeMismatchException($"{Name}: the batch must be [B, …], got a scalar.");
            b = input.Dim(0);
            if (embeddings.Length != b * EmbeddingDimension)
                throw new ShapeMismatchException($"{Name}: the embedding buffer holds {embeddings.Length} floats, expected B×D = {b}×{EmbeddingDimension}.");
            scope = TensorScope.Begin();
        }
        catch
        {
            Release();
            throw;
        }
        try
        {
            Tensor output;
            if (requiresGrad) output = Run(input);
            else using (Autograd.NoGrad()) output = Run(input);
            if (output.Rank != 2 || output.Dim(0) != b || output.Dim(1) != EmbeddingDimension)
                throw new ShapeMismatchException($"{Name}: the module produced {Tensor.FormatShape(output.Shape)}, expected [{b}, {EmbeddingDimension}].");
            output.Data.CopyTo(embeddings);
            if (requiresGrad && output.RequiresGrad)
            {
                _scope = scope;
                _output = output;
                return;
            }
        }
        catch
        {
            scope.Dispose();
            Release();
            throw;
        }
        scope.Dispose();
        Release();
    }

    /// <summary>Takes the encoder for the calling thread, or throws when another thread holds it (a forward running, or a
    /// pending graph), before anything is changed.</summary>
    private void Claim(string call)
    {
        int me = Environment.CurrentManagedThreadId;
        int owner = Interlocked.CompareExchange(ref _ownerThread, me, 0);
        if (owner != 0 && owner != me) throw CrossThread(call, me, owner);
    }

    /// <summary>Throws when a thread other than the caller holds the encoder; does not take it.</summary>
    private void CheckOwner(string call)
    {
        int me = Environment.CurrentManagedThreadId, owner = Volatile.Read(ref _ownerThread);
        if (owner != 0 && owner != me) throw CrossThread(call, me, owner);
    }

    private void Release() => Volatile.Write(ref _ownerThread, 0);

    private InvalidOperationException CrossThread(string call, int me, int owner) => new(string.Create(CultureInfo.InvariantCulture,
        $"{GetType().Name} '{Name}': {call} was called on thread {me} while thread {owner} is using the encoder (a Forward is running or its graph is pending). " +
        $"An encoder is not thread-safe: run a step's Forward, Backward and DiscardGraph on one thread, and use one encoder per thread for concurrent work. Nothing was changed; thread {owner} can still finish or discard its step."));

    /// <inheritdoc />
    public void Backward(ReadOnlySpan<float> embeddingGradient)
    {
        CheckOwner(nameof(Backward));
        if (_scope is null || _output is null)
            throw new InvalidOperationException($"{Name}: Backward needs a pending Forward with requiresGrad: true.");
        try
        {
            if (embeddingGradient.Length != _output.Size)
                throw new ShapeMismatchException($"{Name}: the embedding gradient holds {embeddingGradient.Length} floats, expected {Tensor.FormatShape(_output.Shape)}.");
            _output.Backward(Tensor.FromSpan(embeddingGradient, _output.ShapeArray));
        }
        finally
        {
            DiscardGraph();
        }
    }

    /// <inheritdoc />
    public void DiscardGraph()
    {
        CheckOwner(nameof(DiscardGraph));
        var s = _scope;
        _scope = null;
        _output = null;
        try { s?.Dispose(); }
        finally { if (s is not null) Release(); }
    }

    /// <inheritdoc />
    public IEncoderOptimizer CreateOptimizer(EncoderOptimizerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Optimizer opt = options.Kind switch
        {
            OptimizerKind.AdamW => new AdamW(Module.Parameters(), options.LearningRate, options.Betas.Beta1, options.Betas.Beta2, weightDecay: options.WeightDecay),
            _ => new Sgd(Module.Parameters(), options.LearningRate, options.Momentum, weightDecay: options.WeightDecay, nesterov: options.Nesterov),
        };
        return new ManagedOptimizer(Module, opt);
    }

    /// <inheritdoc />
    public void Save(string path, IEncoderOptimizer? optimizer = null, IReadOnlyDictionary<string, string>? metadata = null)
        => Checkpoint.Save(path, Module, Unwrap(optimizer), null, metadata);

    /// <inheritdoc />
    public IReadOnlyDictionary<string, string> Load(string path, IEncoderOptimizer? optimizer = null, bool strict = true)
        => Checkpoint.Load(path, Module, Unwrap(optimizer), null, strict).Metadata;

    /// <inheritdoc />
    public NonFiniteTensor? FindNonFiniteTensor() => FindNonFinite(Module, prefix: "");

    /// <summary>The first parameter or buffer of <paramref name="module"/> that holds NaN or infinity.</summary>
    /// <param name="module">The module.</param>
    /// <param name="prefix">Prepended to each state key in the report.</param>
    /// <returns>The tensor, or null.</returns>
    internal static NonFiniteTensor? FindNonFinite(Module module, string prefix)
    {
        foreach (var (name, tensor) in module.StateEntries())
        {
            int bad = tensor.IndexOfNonFinite();
            if (bad >= 0) return new NonFiniteTensor(prefix + name, bad, tensor.Data[bad]);
        }
        return null;
    }

    /// <summary>The first non-finite state buffer of <paramref name="optimizer"/>, named as in the checkpoint
    /// (<c>optim.&lt;i&gt;.&lt;buffer&gt;</c>) with the parameter it belongs to.</summary>
    /// <param name="module">The module the optimizer updates (for parameter names).</param>
    /// <param name="optimizer">The optimizer.</param>
    /// <param name="prefix">Prepended to each name in the report.</param>
    /// <returns>The tensor, or null.</returns>
    internal static NonFiniteTensor? FindNonFinite(Module module, Optimizer optimizer, string prefix)
    {
        if (optimizer.FindNonFiniteState() is not { } bad) return null;
        var p = optimizer.Parameters[bad.Parameter];
        string? owner = module.NamedParameters().FirstOrDefault(kv => ReferenceEquals(kv.Value, p)).Key;
        return new NonFiniteTensor(string.Create(CultureInfo.InvariantCulture, $"{prefix}{Checkpoint.OptimizerPrefix}{bad.Parameter}.{bad.Buffer}"), bad.Element, bad.Value, owner is null ? null : prefix + owner);
    }

    private Optimizer? Unwrap(IEncoderOptimizer? optimizer) => optimizer switch
    {
        null => null,
        ManagedOptimizer m when ReferenceEquals(m.Module, Module) => m.Optimizer,
        _ => throw new ArgumentException($"{Name}: the optimizer was not created by this encoder.", nameof(optimizer)),
    };

    /// <summary>The Learner.Nn optimizer behind the seam.</summary>
    private sealed class ManagedOptimizer(Module module, Optimizer optimizer) : IEncoderOptimizer
    {
        public Module Module { get; } = module;
        public Optimizer Optimizer { get; } = optimizer;

        public double LearningRate
        {
            get => Optimizer.ParamGroups[0].LearningRate;
            set
            {
                if (!(value >= 0) || double.IsInfinity(value)) throw new ArgumentOutOfRangeException(nameof(value), value, "The learning rate must be non-negative and finite.");
                foreach (var g in Optimizer.ParamGroups) g.LearningRate = value;
            }
        }

        public long StepCount => Optimizer.Parameters.Count == 0 ? 0 : Optimizer.StepCount(0);

        public void ZeroGrad() => Optimizer.ZeroGrad();

        public double ClipGradNorm(double maxNorm) => GradClip.ClipGradNorm(Module, (float)maxNorm);

        public void CheckGradientsFinite()
        {
            foreach (var p in Module.NamedParameters())
                p.Value.Grad?.CheckFinite($"gradient of parameter '{p.Key}'");
        }

        public void Step() => Optimizer.Step();

        public NonFiniteTensor? FindNonFiniteState() => FindNonFinite(Module, Optimizer, prefix: "");

        public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Optimizer.Kind} lr={LearningRate:G4}");
    }
}
