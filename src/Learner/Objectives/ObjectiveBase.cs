using Learner.Objectives.Options;

namespace Learner.Objectives;

/// <summary>
/// Shared plumbing of objectives: the input checks of <see cref="BatchContract.Batch"/> before every call, the
/// reported term, sub-terms and mining statistics, no parameters by default. Derive from
/// <see cref="ObjectiveBase{TOptions}"/> for an objective configured by an options record.
/// </summary>
public abstract class ObjectiveBase : IObjective
{
    private readonly string _positiveName, _negativeName;
    private ObjectiveTerms _parts;
    private MiningStatistics _mining;

    /// <summary>Creates the objective with its registry name.</summary>
    /// <param name="name">The name.</param>
    protected ObjectiveBase(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Name = name;
        _positiveName = name + ".positive";
        _negativeName = name + ".negative";
    }

    /// <inheritdoc />
    public string Name { get; }

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
        BatchContract.Batch(batch, Name, gradEmbeddings, gradSecondView);
        _parts = default;
        _mining = default;
        var (loss, active) = ComputeCore(batch, gradEmbeddings, gradSecondView);
        return new ObjectiveResult(loss, active, new ObjectiveTerms(new ObjectiveTerm(Name, loss, 1.0)))
        {
            Parts = _parts,
            // Objectives that visit no pairs, triplets or anchors (MSE) report no mining, not their active rows.
            Mining = _mining == default ? default : _mining with { Active = active },
        };
    }

    /// <summary>Computes the loss and its gradient with respect to the embeddings (no second view gradient).</summary>
    /// <param name="batch">The batch.</param>
    /// <param name="gradEmbeddings">Receives d(loss)/d(embeddings), B×D (overwritten); empty to compute the value only.</param>
    /// <returns>The loss and its terms.</returns>
    public ObjectiveResult Compute(in EmbeddingBatch batch, Span<float> gradEmbeddings) => Compute(batch, gradEmbeddings, default);

    /// <summary>Computes the loss and writes the gradients (buffers are checked: empty or B×D; embeddings are finite).</summary>
    /// <param name="batch">The batch.</param>
    /// <param name="gradEmbeddings">Gradient of the embeddings, or empty.</param>
    /// <param name="gradSecondView">Gradient of the second view, or empty.</param>
    /// <returns>The loss and the number of active items.</returns>
    protected abstract (double Loss, int Active) ComputeCore(in EmbeddingBatch batch, Span<float> gradEmbeddings, Span<float> gradSecondView);

    /// <summary>Reports the loss's positive and negative parts for this call (they add up to the loss); called from
    /// <see cref="ComputeCore"/>.</summary>
    /// <param name="positive">The part from positive pairs (pulling together).</param>
    /// <param name="negative">The part from negative pairs (pushing apart).</param>
    protected void ReportParts(double positive, double negative)
        => _parts = new ObjectiveTerms(new ObjectiveTerm(_positiveName, positive, 1.0), new ObjectiveTerm(_negativeName, negative, 1.0));

    /// <summary>Reports what the objective visited for this call (<see cref="MiningStatistics.Active"/> is set from
    /// <see cref="ComputeCore"/>'s result); called from <see cref="ComputeCore"/>. An objective that reports nothing
    /// has empty mining statistics.</summary>
    /// <param name="mining">The counts.</param>
    protected void ReportMining(MiningStatistics mining) => _mining = mining;

    /// <summary>Reports a pair engine's parts and counts and returns its (loss, active).</summary>
    private protected (double Loss, int Active) Report(in Kernels.PairLossResult r)
    {
        ReportParts(r.PositivePart, r.NegativePart);
        ReportMining(new MiningStatistics { Pairs = r.Stats.Count, PositivePairs = r.Stats.Positives });
        return r;
    }
}

/// <summary>
/// An objective configured by an options record: takes the options (or their defaults), validates them once, and
/// exposes them as <see cref="Options"/>.
/// </summary>
/// <typeparam name="TOptions">The options record.</typeparam>
public abstract class ObjectiveBase<TOptions> : ObjectiveBase where TOptions : ObjectiveOptions, new()
{
    /// <summary>Creates the objective.</summary>
    /// <param name="name">Its registry name.</param>
    /// <param name="options">Its options, or null for <c>new TOptions()</c>.</param>
    /// <exception cref="ArgumentException">An option is out of range (named by the options' <see cref="ObjectiveOptions.Validate"/>).</exception>
    protected ObjectiveBase(string name, TOptions? options) : base(name)
    {
        Options = options ?? new TOptions();
        Options.Validate();
    }

    /// <summary>The options (validated).</summary>
    public TOptions Options { get; }
}
