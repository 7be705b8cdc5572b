using System.Runtime.InteropServices;
using Learner.Objectives.Miners;

namespace Learner.Objectives;

/// <summary>
/// A miner in front of an objective, pytorch-metric-learning's <c>loss(embeddings, labels, miner(embeddings, labels))</c>:
/// each call mines the batch's pairs or triplets and hands them to the objective as <see cref="EmbeddingBatch.Pairs"/>
/// or <see cref="EmbeddingBatch.Triplets"/> (replacing any the batch carried). The objective must read them: a
/// <see cref="ContrastiveLoss"/> or <see cref="PairPenaltyLoss"/> with <c>UseProvidedPairs</c>, a
/// <see cref="TripletLoss"/> with <see cref="Options.TripletSelection.Provided"/>, or your own. A batch in which the
/// miner finds nothing gives a loss of 0 and zero gradients.
/// </summary>
/// <remarks>The fused selections (<see cref="Options.TripletSelection.BatchAll"/>, <see cref="Options.TripletSelection.BatchHard"/>,
/// all pairs) stay faster for their own rules: they never materialise the index lists. Disposing the mined objective
/// disposes the objective when it is <see cref="IDisposable"/>.</remarks>
public sealed class MinedObjective : IObjective, IDetailReporting, IDisposable
{
    private readonly IObjective _objective;
    private readonly PairMiner? _pairMiner;
    private readonly TripletMiner? _tripletMiner;
    private readonly List<IndexPair> _pairs = new();
    private readonly List<IndexTriplet> _triplets = new();

    /// <summary>Mines triplets for <paramref name="objective"/>.</summary>
    /// <param name="miner">The miner.</param>
    /// <param name="objective">An objective that reads <see cref="EmbeddingBatch.Triplets"/>.</param>
    /// <exception cref="ArgumentException">The objective does not read triplets (e.g. a triplet loss whose selection
    /// is not Provided).</exception>
    public MinedObjective(TripletMiner miner, IObjective objective) : this(objective, BatchFields.Triplets)
        => _tripletMiner = miner ?? throw new ArgumentNullException(nameof(miner));

    /// <summary>Mines pairs for <paramref name="objective"/>.</summary>
    /// <param name="miner">The miner.</param>
    /// <param name="objective">An objective that reads <see cref="EmbeddingBatch.Pairs"/>.</param>
    /// <exception cref="ArgumentException">The objective does not read pairs (e.g. a contrastive loss with
    /// UseProvidedPairs = false).</exception>
    public MinedObjective(PairMiner miner, IObjective objective) : this(objective, BatchFields.Pairs)
        => _pairMiner = miner ?? throw new ArgumentNullException(nameof(miner));

    private MinedObjective(IObjective objective, BatchFields mined)
    {
        ArgumentNullException.ThrowIfNull(objective);
        if (!objective.Reads.HasFlag(mined))
            throw new ArgumentException($"Objective '{objective.Name}' does not read EmbeddingBatch.{mined} (it reads {objective.Reads}), so mined {mined.ToString().ToLowerInvariant()} would be ignored; configure it to use provided {mined.ToString().ToLowerInvariant()}.", nameof(objective));
        _objective = objective;
    }

    /// <summary>The objective the mined pairs or triplets feed.</summary>
    public IObjective Objective => _objective;

    /// <inheritdoc />
    public string Name => _objective.Name;

    /// <summary>Forwarded to the objective when it is <see cref="IDetailReporting"/>; true otherwise.</summary>
    public bool ReportsDetails
    {
        get => _objective is not IDetailReporting r || r.ReportsDetails;
        set { if (_objective is IDetailReporting r) r.ReportsDetails = value; }
    }

    private BatchFields MinerRequires => _pairMiner?.Requires ?? _tripletMiner!.Requires;

    /// <inheritdoc />
    public BatchFields Requires => (_objective.Requires & ~(BatchFields.Pairs | BatchFields.Triplets)) | MinerRequires;

    /// <inheritdoc />
    public BatchFields RequiresGiven(BatchFields available)
        => (_objective.RequiresGiven(available | (_pairMiner is null ? BatchFields.Triplets : BatchFields.Pairs)) & ~(BatchFields.Pairs | BatchFields.Triplets)) | MinerRequires;

    /// <inheritdoc />
    public BatchFields Reads => (_objective.Reads & ~(BatchFields.Pairs | BatchFields.Triplets)) | MinerRequires;

    /// <inheritdoc />
    public IReadOnlyList<ObjectiveParameter> Parameters => _objective.Parameters;

    /// <summary>Computes the loss and its gradient with respect to the embeddings (no second view gradient).</summary>
    /// <param name="batch">The batch.</param>
    /// <param name="gradEmbeddings">Receives d(loss)/d(embeddings), B×D (overwritten); empty to compute the value only.</param>
    /// <returns>The loss and its terms.</returns>
    public ObjectiveResult Compute(in EmbeddingBatch batch, Span<float> gradEmbeddings) => Compute(batch, gradEmbeddings, default);

    /// <inheritdoc />
    public ObjectiveResult Compute(in EmbeddingBatch batch, Span<float> gradEmbeddings, Span<float> gradSecondView)
    {
        BatchContract.Batch(batch, Name, gradEmbeddings, gradSecondView);
        if (_pairMiner is not null)
        {
            _pairs.Clear();
            _pairMiner.Mine(batch, _pairs);
            if (_pairs.Count == 0) return Nothing(gradEmbeddings, gradSecondView);
            return _objective.Compute(With(batch, CollectionsMarshal.AsSpan(_pairs), default), gradEmbeddings, gradSecondView);
        }
        _triplets.Clear();
        _tripletMiner!.Mine(batch, _triplets);
        if (_triplets.Count == 0) return Nothing(gradEmbeddings, gradSecondView);
        return _objective.Compute(With(batch, default, CollectionsMarshal.AsSpan(_triplets)), gradEmbeddings, gradSecondView);
    }

    private ObjectiveResult Nothing(Span<float> gradEmbeddings, Span<float> gradSecondView)
    {
        gradEmbeddings.Clear(); gradSecondView.Clear();
        foreach (var p in _objective.Parameters) p.Gradient.Data.Clear();
        return new ObjectiveResult(0, 0, new ObjectiveTerms(new ObjectiveTerm(Name, 0, 1.0)));
    }

    private static EmbeddingBatch With(EmbeddingBatch b, ReadOnlySpan<IndexPair> pairs, ReadOnlySpan<IndexTriplet> triplets)
        => new(b.Embeddings, b.Count, b.Dimension)
        {
            SecondView = b.SecondView, Scores = b.Scores, PatientIds = b.PatientIds, Labels = b.Labels, Pairs = pairs, Triplets = triplets,
        };

    /// <summary>Disposes the objective when it is <see cref="IDisposable"/>.</summary>
    public void Dispose() => (_objective as IDisposable)?.Dispose();
}
