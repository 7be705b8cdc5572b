using Learner.Objectives;
using Learner.Objectives.Options;
using Learner.Objectives.Reducers;
using static TorchSharp.torch;
using TTensor = TorchSharp.torch.Tensor;

namespace Learner.TorchSharp.Objectives;

/// <summary>Pairwise margin contrastive loss (<see cref="ContrastiveLoss"/>) on a libtorch device: max(0, d − m⁺)² (d²
/// for m⁺ = 0) for positive pairs, max(0, m − d)² for negative pairs, or the same unsquared, over the sampler's pairs or
/// every pair of the batch, with the managed objective's reductions (pytorch-metric-learning's form included).</summary>
public sealed class TorchSharpContrastiveLoss : TorchSharpObjective<ContrastiveOptions>
{
    /// <summary>Creates the objective.</summary>
    /// <param name="options">Options (validated); null for the defaults.</param>
    /// <param name="device">The device, or null for CUDA when available, else the CPU.</param>
    /// <param name="distance">A device distance replacing the options' <c>Distance</c> (e.g. your own
    /// <see cref="TorchSharpDistance"/>), or null.</param>
    /// <param name="reducer">A reducer over the pair terms replacing the options' <c>Reduction</c> (e.g. your own
    /// <see cref="ReducerBase"/>, the one the managed <see cref="ContrastiveLoss"/> takes), or null.</param>
    /// <exception cref="ArgumentException">A reducer was passed while the options' <c>Reduction</c> names another, non-default reduction.</exception>
    public TorchSharpContrastiveLoss(ContrastiveOptions? options = null, Device? device = null, TorchSharpDistance? distance = null, ReducerBase? reducer = null)
        : base("contrastive", options, device)
    {
        Distance = distance ?? TorchSharpDistance.Create(Options.Distance);
        Reducer = ReducerBase.Resolve(reducer, Options.Reduction, "ContrastiveOptions.Reduction");
    }

    /// <summary>The distance the pairs are measured with.</summary>
    public TorchSharpDistance Distance { get; }

    /// <summary>The reducer over the pair terms (the options' reduction unless one was passed). A count reducer scales
    /// two device sums; any other reducer costs one copy of the terms to the host and one of the weights back.</summary>
    public ReducerBase Reducer { get; }

    /// <inheritdoc />
    public override BatchFields Requires => Options.UseProvidedPairs ? BatchFields.None : BatchFields.Labels;

    /// <inheritdoc />
    public override BatchFields RequiresGiven(BatchFields available)
        => Options.UseProvidedPairs && available.HasFlag(BatchFields.Pairs) ? BatchFields.None : BatchFields.Labels;

    /// <inheritdoc />
    public override BatchFields Reads => (Options.UseProvidedPairs ? BatchFields.Pairs : BatchFields.None) | BatchFields.Labels
        | (Options.InterPatientOnly ? BatchFields.PatientIds : BatchFields.None);

    /// <inheritdoc />
    protected override TTensor LossCore(TTensor z, TTensor? second, in EmbeddingBatch meta, IReadOnlyList<TTensor> parameters, out int active)
    {
        var pairs = BatchContract.SelectedPairs(meta, Options.UseProvidedPairs);
        TTensor loss, positive;
        TTensor? include = null;
        int count;
        if (!pairs.IsEmpty)
        {
            var (first, other, flags) = PairTensors.Upload(this, pairs);
            var d = Distance.Pairs(z, first, other);
            positive = flags;
            loss = Terms(d, positive);
            count = pairs.Length;
        }
        else
        {
            var labels = BatchContract.Labels(meta, "Contrastive loss (all pairs; or give EmbeddingBatch.Pairs)");
            var patients = Options.InterPatientOnly ? BatchContract.OptionalPatients(meta, "contrastive") : default;
            var d = Distance.Matrix(z);
            var lab = UploadIndex(labels);
            positive = lab.unsqueeze(1).eq(lab.unsqueeze(0));
            (var mask, count) = PairTensors.AllPairs(meta.Count, patients);
            include = tensor(mask, new long[] { meta.Count, meta.Count }).to(Device);
            loss = Terms(d, positive) * include.to_type(ScalarType.Float32);
        }
        active = DeviceOps.ActiveCount(loss, include);
        var posMask = include is null ? positive : positive.logical_and(include);
        var negMask = include is null ? positive.logical_not() : positive.logical_not().logical_and(include);
        int posCount = DeviceOps.Count(posMask);
        var (pos, neg) = DeviceReduction.PairParts(Reducer, loss, posMask, negMask, count, active, posCount);
        return Parts(pos, neg, new MiningStatistics { Pairs = count, PositivePairs = posCount });
    }

    /// <summary>Each pair's term from its distance: the positive form where <paramref name="positive"/>, else the negative.</summary>
    private TTensor Terms(TTensor d, TTensor positive)
    {
        var pos = Options.Squared && Options.PositiveMargin == 0 ? d.Square() : d.Plus(-Options.PositiveMargin).relu();
        if (Options.Squared && Options.PositiveMargin != 0) pos = pos.Square();
        var neg = d.SubtractedFrom(Options.Margin).relu();
        if (Options.Squared) neg = neg.Square();
        return pos.where(positive, neg);
    }
}
