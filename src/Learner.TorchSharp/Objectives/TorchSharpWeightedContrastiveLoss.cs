using Learner.Objectives;
using Learner.Objectives.Options;
using Learner.Objectives.Reducers;
using static TorchSharp.torch;
using TTensor = TorchSharp.torch.Tensor;

namespace Learner.TorchSharp.Objectives;

/// <summary>LEARNER's weighted contrastive loss (<see cref="WeightedContrastiveLoss"/>) on a libtorch device. Which pairs
/// are positives and the score-gap weights w_ij and margins m_ij depend only on the scores and the sampler's pairs: they
/// are computed on the host in double precision by the managed objective's own rules (every gap function, the custom
/// one included) and uploaded with the pair selection; distances, hinges, the reduction and the gradient run on the
/// device.</summary>
/// <remarks>As the managed objective: with sampler pairs (<see cref="EmbeddingBatch.Pairs"/> and
/// <see cref="WeightedContrastiveOptions.UseProvidedPairs"/>) a pair is positive when the sampler marked it so
/// (<see cref="WeightedContrastiveOptions.PositivesFromPairs"/>, the default) and its Δ is the pair's
/// <see cref="IndexPair.ScoreGap"/> when finite, else |s_i − s_j|; with every in-batch pair, or with
/// <see cref="WeightedContrastiveOptions.PositivesFromPairs"/> false, Δ ≤ the positive threshold decides.</remarks>
public sealed class TorchSharpWeightedContrastiveLoss : TorchSharpObjective<WeightedContrastiveOptions>
{
    /// <summary>Creates the objective.</summary>
    /// <param name="options">Options (validated); null for the defaults.</param>
    /// <param name="device">The device, or null for CUDA when available, else the CPU.</param>
    /// <param name="distance">A device distance replacing the options' <c>Distance</c> (e.g. your own
    /// <see cref="TorchSharpDistance"/>), or null.</param>
    /// <param name="reducer">A reducer over the pair terms replacing the options' <c>Reduction</c> (e.g. your own
    /// <see cref="ReducerBase"/>, the one the managed <see cref="WeightedContrastiveLoss"/> takes), or null.</param>
    /// <exception cref="ArgumentException">A reducer was passed while the options' <c>Reduction</c> names another, non-default reduction.</exception>
    public TorchSharpWeightedContrastiveLoss(WeightedContrastiveOptions? options = null, Device? device = null, TorchSharpDistance? distance = null,
        ReducerBase? reducer = null) : base("weighted-contrastive", options, device)
    {
        Distance = distance ?? TorchSharpDistance.Create(Options.Distance);
        Reducer = ReducerBase.Resolve(reducer, Options.Reduction, "WeightedContrastiveOptions.Reduction");
    }

    /// <summary>The distance the pairs are measured with.</summary>
    public TorchSharpDistance Distance { get; }

    /// <summary>The reducer over the pair terms (the options' reduction unless one was passed). A count reducer scales
    /// two device sums; any other reducer costs one copy of the terms to the host and one of the weights back.</summary>
    public ReducerBase Reducer { get; }

    /// <inheritdoc />
    public override BatchFields Requires => BatchFields.Scores;

    /// <inheritdoc />
    public override BatchFields Reads => BatchFields.Scores | BatchFields.PatientIds | BatchFields.Pairs;

    /// <inheritdoc />
    protected override TTensor LossCore(TTensor z, TTensor? second, in EmbeddingBatch meta, IReadOnlyList<TTensor> parameters, out int active)
    {
        var s = BatchContract.Scores(meta, "Weighted contrastive loss");
        var pairs = BatchContract.SelectedPairs(meta, Options.UseProvidedPairs);
        int n = meta.Count;
        var o = Options;
        // The selection: the sampler's pairs, or every pair i < j (of different patients) as a B×B mask.
        bool explicitPairs = !pairs.IsEmpty;
        var (include, count) = explicitPairs ? (null, pairs.Length)
            : PairTensors.AllPairs(n, o.InterPatientOnly ? BatchContract.OptionalPatients(meta, "weighted contrastive") : default);
        long size = explicitPairs ? pairs.Length : (long)n * n;
        // Each selected pair's kind and, for a negative, g(Δ); then the weight normalisation, weights and margins — the
        // managed objective's coefficients. Pairs outside the selection keep weight 0: they contribute nothing.
        var positive = new bool[size];
        var g = new double[size];
        double sumG = 0;
        long negatives = 0;
        var scores = s.ToArray();
        for (long k = 0; k < size; k++)
        {
            if (include is not null && !include[k]) continue;
            // Δ and the pair's kind by the managed rules: a provided pair's finite ScoreGap and (PositivesFromPairs) its
            // flag; for all pairs |s_i − s_j| against the threshold.
            var pair = explicitPairs ? pairs[(int)k] : new IndexPair((int)(k / n), (int)(k % n), false);
            double gap = WeightedContrastiveFormulas.PairGap(scores, pair.First, pair.Second, pair.ScoreGap);
            if (WeightedContrastiveFormulas.IsPositive(o, pair.Positive, gap, provided: explicitPairs)) { positive[k] = true; continue; }
            g[k] = o.Gap(gap);
            sumG += g[k];
            negatives++;
        }
        double weightScale = WeightedContrastiveFormulas.WeightScale(o, sumG, negatives);
        var weight = new float[size];
        var margin = new float[size];
        for (long k = 0; k < size; k++)
        {
            if (positive[k] || (include is not null && !include[k])) continue;
            weight[k] = (float)WeightedContrastiveFormulas.NegativeWeight(o, g[k], weightScale);
            margin[k] = (float)WeightedContrastiveFormulas.NegativeMargin(o, g[k]);
        }
        long[] shape = explicitPairs ? new long[] { pairs.Length } : new long[] { n, n };
        TTensor d;
        if (explicitPairs)
        {
            var (first, other, _) = PairTensors.Upload(this, pairs);
            d = Distance.Pairs(z, first, other);
        }
        else d = Distance.Matrix(z);
        // Negatives: the hinge w·max(0, m − d)², or with TargetDistance (the ranking form) w·(m − d)², as the managed loss.
        var h = tensor(margin, shape).to(Device) - d;
        var loss = d.Square().where(tensor(positive, shape).to(Device),
            tensor(weight, shape).to(Device) * (o.TargetDistance ? h : h.relu()).Square());
        active = DeviceOps.ActiveCount(loss, null);
        // Pairs outside the selection are neither (their loss is 0 and they are not counted).
        var posMask = tensor(positive, shape).to(Device);
        var negMask = include is null ? posMask.logical_not() : posMask.logical_not().logical_and(tensor(include, shape).to(Device));
        int posCount = positive.Count(p => p);
        var (pos, neg) = DeviceReduction.PairParts(Reducer, loss, posMask, negMask, count, active, posCount);
        return Parts(pos, neg, new MiningStatistics { Pairs = count, PositivePairs = posCount });
    }
}
