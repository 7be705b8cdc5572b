using Learner.Objectives;
using Learner.Objectives.Options;
using Learner.Objectives.Kernels;
using TorchSharp;
using static TorchSharp.torch;
using TTensor = TorchSharp.torch.Tensor;

namespace Learner.TorchSharp.Objectives;

/// <summary>
/// An objective computed by libtorch on a device (CUDA or CPU): the same definition, options, input checks and
/// exceptions as its managed counterpart in <c>Learner.Objectives</c>, with the loss built from TorchSharp operations
/// and the gradient from libtorch's autograd.
/// </summary>
/// <remarks>
/// <para>Two ways in. Through <see cref="IObjective"/> (what the pretrainer and the experiment use): the host batch is
/// copied to the device in one bulk copy per tensor, the loss is built and back-propagated there, and the B×D
/// gradients come back in one copy each. Through <see cref="Loss"/>: embeddings that are already on the device (the
/// output of your own TorchSharp module) give a scalar loss tensor attached to their graph, so a TorchSharp training
/// loop never leaves the GPU.</para>
/// <para>Metadata (labels, scores, patient ids, pairs, triplets) is validated on the host and uploaded as small index
/// or mask tensors; coefficients that depend only on metadata (a weighted loss's score-gap weights and margins) are
/// computed on the host in double precision, exactly as the managed objective computes them. Mining (batch-hard,
/// semi-hard, batch-all) and every computation on embeddings run on the device. Dense formulations hold B×B
/// values (Rank-N-Contrast, semi-hard mining and hinge batch-all sort each anchor's row: O(B² log B)); only soft-plus
/// batch-all triplets hold B×B×B values, processed in anchor chunks of at most 2²⁴ elements.</para>
/// <para>Derive from it (or from <see cref="TorchSharpObjective{TOptions}"/>) to compute an objective of your own on a
/// device: implement <see cref="Requires"/> and <see cref="LossCore"/>, report parts with <see cref="Parts"/>, and the base
/// gives both ways in, the input checks and the exceptions (docs/torchsharp.md shows one).</para>
/// <para>Not thread-safe: use one instance per training loop.</para>
/// </remarks>
public abstract class TorchSharpObjective : IObjective, IDetailReporting, IDisposable
{
    /// <summary>Elements per chunk of a B×B×B formulation.</summary>
    internal const long ChunkElements = 1L << 24;

    private bool _disposed;
    private TTensor? _positivePart, _negativePart;
    private MiningStatistics _mining;

    /// <summary>Creates the objective.</summary>
    /// <param name="name">Its registry name (in results, logs and messages).</param>
    /// <param name="device">The device, or null for CUDA when available, else the CPU.</param>
    protected TorchSharpObjective(string name, Device? device)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Name = name;
        Device = device ?? TorchSharpEncoder.DefaultDevice();
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <summary>Whether <see cref="Compute(in EmbeddingBatch, Span{float}, Span{float})"/> copies the loss's positive and
    /// negative parts to the host (two device synchronisations) and reports the mining counts; default true.</summary>
    public bool ReportsDetails { get; set; } = true;

    /// <summary>The device the loss is computed on.</summary>
    public Device Device { get; }

    /// <inheritdoc />
    public abstract BatchFields Requires { get; }

    /// <inheritdoc />
    public virtual BatchFields Reads => Requires;

    /// <inheritdoc />
    public virtual BatchFields RequiresGiven(BatchFields available) => Requires;

    /// <inheritdoc />
    public virtual IReadOnlyList<ObjectiveParameter> Parameters => Array.Empty<ObjectiveParameter>();

    /// <inheritdoc />
    public ObjectiveResult Compute(in EmbeddingBatch batch, Span<float> gradEmbeddings, Span<float> gradSecondView)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        BatchContract.Batch(batch, Name, gradEmbeddings, gradSecondView);
        int b = batch.Count, d = batch.Dimension;
        bool wantFirst = !gradEmbeddings.IsEmpty, wantSecond = !gradSecondView.IsEmpty;
        double value;
        int active;
        var parts = ObjectiveTerms.Empty;
        _positivePart = _negativePart = null;
        _mining = default;
        using (var scope = NewDisposeScope())
        {
            var z = Upload(batch.Embeddings, b, d, wantFirst);
            TTensor? second = null;
            if (!batch.SecondView.IsEmpty && SecondViewReader is { } reader)
            {
                BatchContract.SecondView(batch.SecondView.Length, b, d, reader, required: false);
                second = Upload(batch.SecondView, b, d, wantSecond);
            }
            else gradSecondView.Clear();
            var parameters = UploadParameters();
            var loss = LossCore(z, second, batch, parameters, out active);
            value = loss.to_type(ScalarType.Float64).item<double>();
            if (ReportsDetails && _positivePart is not null && _negativePart is not null)
                parts = new ObjectiveTerms(new ObjectiveTerm(Name + ".positive", _positivePart.to_type(ScalarType.Float64).item<double>(), 1.0),
                    new ObjectiveTerm(Name + ".negative", _negativePart.to_type(ScalarType.Float64).item<double>(), 1.0));
            _positivePart = _negativePart = null;
            if ((wantFirst || wantSecond || parameters.Count > 0) && loss.requires_grad) loss.backward();
            CopyGradient(z, gradEmbeddings);
            if (second is not null) CopyGradient(second, gradSecondView);
            DownloadParameterGradients(parameters);
        }
        return new ObjectiveResult(value, active, new ObjectiveTerms(new ObjectiveTerm(Name, value, 1.0)))
        {
            Parts = parts, Mining = ReportsDetails && _mining != default ? _mining with { Active = active } : default,
        };
    }

    /// <summary>Computes the loss and its gradient with respect to the embeddings (no second-view gradient).</summary>
    /// <param name="batch">The batch.</param>
    /// <param name="gradEmbeddings">Receives d(loss)/d(embeddings), B×D (overwritten); empty to compute the value only.</param>
    /// <returns>The loss and its terms.</returns>
    public ObjectiveResult Compute(in EmbeddingBatch batch, Span<float> gradEmbeddings) => Compute(batch, gradEmbeddings, default);

    /// <summary>The loss of embeddings that live on a device, as a scalar tensor attached to their autograd graph
    /// (call <c>backward()</c> on it). Checks the same metadata as <see cref="Compute(in EmbeddingBatch, Span{float}, Span{float})"/>.</summary>
    /// <param name="embeddings">B×D float32 embeddings on <see cref="Device"/>.</param>
    /// <param name="metadata">The batch's metadata (host memory), or null when the objective needs none.</param>
    /// <param name="secondView">A second view (B×D) on the same device, or null.</param>
    /// <returns>The loss tensor, the active count, and the device tensors of the objective's own parameters (whose
    /// <c>grad</c> the backward pass fills; empty for most objectives).</returns>
    /// <exception cref="ObjectiveInputException">A tensor has the wrong rank, shape, type or device, or metadata is missing or mis-sized.</exception>
    /// <exception cref="NonFiniteEmbeddingException">An embedding is NaN or infinite.</exception>
    public TorchSharpLoss Loss(TTensor embeddings, BatchMetadata? metadata = null, TTensor? secondView = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(embeddings);
        CheckDeviceTensor(embeddings, "embeddings", null);
        int b = (int)embeddings.shape[0], d = (int)embeddings.shape[1];
        if (secondView is not null) CheckDeviceTensor(secondView, "second view", embeddings);
        CheckFinite(embeddings, "embeddings");
        if (secondView is not null) CheckFinite(secondView, "second view");
        var meta = (metadata ?? new BatchMetadata()).ToBatch(b, d);
        var parameters = UploadParameters();
        var loss = LossCore(embeddings, SecondViewReader is null ? null : secondView, meta, parameters, out int active);
        return new TorchSharpLoss(loss, active, parameters);
    }

    /// <summary>The objective's name in messages when it reads the second view (InfoNCE, SupCon, y-aware InfoNCE); null
    /// when it ignores it, which is then neither copied to the device nor given a gradient.</summary>
    protected virtual string? SecondViewReader => null;

    /// <summary>Builds the loss.</summary>
    /// <param name="z">B×D embeddings on the device.</param>
    /// <param name="second">The second view, or null.</param>
    /// <param name="meta">The batch: its shape and host metadata (its embeddings may be empty: they are <paramref name="z"/>).</param>
    /// <param name="parameters">The objective's parameters on the device (from <see cref="UploadParameters"/>).</param>
    /// <param name="active">The active count.</param>
    /// <returns>A scalar float32 tensor.</returns>
    protected abstract TTensor LossCore(TTensor z, TTensor? second, in EmbeddingBatch meta, IReadOnlyList<TTensor> parameters, out int active);

    /// <summary>Returns positive + negative, keeping both parts and the mining counts for the result of
    /// <see cref="Compute(in EmbeddingBatch, Span{float}, Span{float})"/> (as the managed objectives report them).</summary>
    protected TTensor Parts(TTensor positive, TTensor negative, MiningStatistics mining)
    {
        _positivePart = positive; _negativePart = negative; _mining = mining;
        return positive.Plus(negative);
    }

    /// <summary>Keeps the mining counts for the result of <see cref="Compute(in EmbeddingBatch, Span{float}, Span{float})"/>.</summary>
    protected void ReportMining(MiningStatistics mining) => _mining = mining;

    /// <summary>The objective's parameters as device leaves that require gradients (empty for most objectives).</summary>
    protected virtual IReadOnlyList<TTensor> UploadParameters() => Array.Empty<TTensor>();

    /// <summary>Copies the device parameters' gradients into <see cref="Parameters"/>.</summary>
    protected virtual void DownloadParameterGradients(IReadOnlyList<TTensor> parameters) { }

    /// <summary>A float32 tensor on the device from host values.</summary>
    protected TTensor Upload(ReadOnlySpan<float> values, long rows, long columns, bool requiresGrad)
    {
        var t = tensor(values.ToArray(), new[] { rows, columns }).to(Device);
        return requiresGrad ? t.requires_grad_(true) : t;
    }

    /// <summary>A tensor on the device from host integers (int64, for indexing).</summary>
    protected TTensor UploadIndex(ReadOnlySpan<int> values)
    {
        var a = new long[values.Length];
        for (int i = 0; i < a.Length; i++) a[i] = values[i];
        return tensor(a, new long[] { a.Length }).to(Device);
    }

    /// <summary>A float64 tensor on the device from host float32 values (exact).</summary>
    protected TTensor UploadDouble(ReadOnlySpan<float> values)
    {
        var a = new double[values.Length];
        for (int i = 0; i < a.Length; i++) a[i] = values[i];
        return tensor(a, new long[] { a.Length }).to(Device);
    }

    /// <summary>Copies a leaf's gradient into <paramref name="destination"/> (zeros when it has none; nothing when the
    /// destination is empty).</summary>
    protected static void CopyGradient(TTensor leaf, Span<float> destination)
    {
        if (destination.IsEmpty) return;
        using var grad = leaf.GradOrNull();
        if (grad is null) { destination.Clear(); return; }
        using var host = grad.cpu().contiguous();
        host.data<float>().ToArray().AsSpan().CopyTo(destination);
    }

    private void CheckDeviceTensor(TTensor t, string input, TTensor? like)
    {
        if (t.dim() != 2)
            throw new ObjectiveInputException($"{Name}: the {input} must be a B×D matrix, got shape [{string.Join(", ", t.shape)}].", input);
        if (t.dtype != ScalarType.Float32)
            throw new ObjectiveInputException($"{Name}: the {input} must be float32, got {t.dtype}.", input);
        if (t.device.type != Device.type || (Device.type == DeviceType.CUDA && t.device.index != Device.index && Device.index >= 0))
            throw new ObjectiveInputException($"{Name}: the {input} are on {t.device}, the objective computes on {Device}.", input);
        if (t.shape[0] < 1 || t.shape[1] < 1)
            throw new ObjectiveInputException($"{Name}: the {input} are empty, shape [{string.Join(", ", t.shape)}].", input);
        if (like is not null && (t.shape[0] != like.shape[0] || t.shape[1] != like.shape[1]))
            throw new ObjectiveInputException($"{Name}: the {input} has shape [{string.Join(", ", t.shape)}], the embeddings [{string.Join(", ", like.shape)}].", "SecondView");
    }

    private static void CheckFinite(TTensor t, string input)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        if (t.isfinite().all().item<bool>()) return;
        var host = t.detach().cpu().contiguous().data<float>().ToArray();
        BatchContract.Finite(host, (int)t.shape[1], input);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _disposed = true;
        GC.SuppressFinalize(this);
    }
}

/// <summary>A device objective configured by an options record (the managed objective's options type): takes the
/// options (or their defaults), validates them once, and exposes them as <see cref="Options"/>.</summary>
/// <typeparam name="TOptions">The options record.</typeparam>
public abstract class TorchSharpObjective<TOptions> : TorchSharpObjective where TOptions : ObjectiveOptions, new()
{
    /// <summary>Creates the objective.</summary>
    /// <param name="name">Its registry name.</param>
    /// <param name="options">Its options, or null for <c>new TOptions()</c> (validated here).</param>
    /// <param name="device">The device, or null for CUDA when available, else the CPU.</param>
    /// <exception cref="ArgumentException">An option is out of range (named by <see cref="ObjectiveOptions.Validate"/>).</exception>
    protected TorchSharpObjective(string name, TOptions? options, Device? device) : base(name, device)
    {
        Options = options ?? new TOptions();
        Options.Validate();
    }

    /// <summary>The options (validated).</summary>
    public TOptions Options { get; }
}

/// <summary>The value of a <see cref="TorchSharpObjective"/> on device embeddings.</summary>
/// <param name="Value">The scalar float32 loss, attached to the embeddings' graph.</param>
/// <param name="ActiveCount">As <see cref="ObjectiveResult.ActiveCount"/>.</param>
/// <param name="Parameters">The objective's own parameters as device leaves (the MSE head's weight and bias), in the
/// order of <see cref="IObjective.Parameters"/>; their gradients appear after <c>Value.backward()</c>.</param>
public sealed record TorchSharpLoss(TTensor Value, int ActiveCount, IReadOnlyList<TTensor> Parameters);
