using Learner.Objectives.Distances;
using Learner.Objectives.Reducers;

namespace Learner.Objectives.Options;

/// <summary>Which triplets <see cref="TripletLoss"/> uses.</summary>
public enum TripletSelection
{
    /// <summary>Every valid (anchor, positive, negative) of the batch (positives share the anchor's coarse label).</summary>
    BatchAll,
    /// <summary>Per anchor, its farthest positive and nearest negative (Hermans et al. 2017).</summary>
    BatchHard,
    /// <summary>Per (anchor, positive), the nearest negative farther than the positive; if none, the farthest negative
    /// (Schroff et al. 2015, as TensorFlow Addons implements it).</summary>
    SemiHard,
    /// <summary>The sampler's triplets, <see cref="EmbeddingBatch.Triplets"/>.</summary>
    Provided,
}

/// <summary>The penalty on a triplet's violation v = d(a,p) − d(a,n) + margin.</summary>
public enum TripletPenalty
{
    /// <summary>max(0, v).</summary>
    Hinge,
    /// <summary>log(1 + exp(v)) (the soft margin of Hermans et al. 2017 with margin 0).</summary>
    SoftPlus,
}

/// <summary>Options of <see cref="TripletLoss"/>.</summary>
public sealed record TripletOptions : ObjectiveOptions
{
    /// <summary>The distance (default Euclidean).</summary>
    public DistanceKind Distance { get; init; } = DistanceKind.Euclidean;

    /// <summary>The margin ≥ 0 (default 0.2).</summary>
    public float Margin { get; init; } = 0.2f;

    /// <summary>The triplet selection (default batch-hard).</summary>
    public TripletSelection Selection { get; init; } = TripletSelection.BatchHard;

    /// <summary>The penalty (default hinge).</summary>
    public TripletPenalty Penalty { get; init; } = TripletPenalty.Hinge;

    /// <summary>The reduction over triplets (default mean).</summary>
    public Reduction Reduction { get; init; } = Reduction.Mean;

    /// <inheritdoc />
    public override void Validate()
    {
        Defined(Distance, nameof(Distance));
        NonNegative(Margin, nameof(Margin));
        Defined(Selection, nameof(Selection));
        Defined(Penalty, nameof(Penalty));
        Defined(Reduction, nameof(Reduction));
        if (Reduction == Reduction.PositiveNegativeMeansOverActive)
            throw new ArgumentOutOfRangeException(nameof(Reduction), Reduction,
                "TripletOptions.Reduction cannot be PositiveNegativeMeansOverActive: a triplet has no positive/negative parts (use MeanOverActive).");
    }

    /// <summary>pytorch-metric-learning's <c>TripletMarginLoss()</c> with its defaults: margin 0.05, every triplet of the
    /// batch, the Euclidean distance on normalised embeddings, hinge, mean over the non-zero triplets.</summary>
    public static TripletOptions PytorchMetricLearning { get; } = new()
    {
        Distance = DistanceKind.NormalizedEuclidean, Margin = 0.05f, Selection = TripletSelection.BatchAll,
        Penalty = TripletPenalty.Hinge, Reduction = Reduction.MeanOverActive,
    };
}
