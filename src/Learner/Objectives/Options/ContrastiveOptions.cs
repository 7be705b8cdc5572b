using Learner.Objectives.Distances;
using Learner.Objectives.Reducers;

namespace Learner.Objectives.Options;

/// <summary>Options of <see cref="ContrastiveLoss"/>. The defaults are Hadsell et al.'s squared form on the cosine
/// distance; <see cref="PytorchMetricLearning"/> gives pytorch-metric-learning's <c>ContrastiveLoss()</c>.</summary>
public sealed record ContrastiveOptions : ObjectiveOptions
{
    /// <summary>The distance (default cosine).</summary>
    public DistanceKind Distance { get; init; } = DistanceKind.Cosine;

    /// <summary>Negatives closer than this margin are pushed out to it; ≥ 0 (default 0.5).</summary>
    public float Margin { get; init; } = 0.5f;

    /// <summary>Positives farther than this margin are pulled in to it; ≥ 0 (default 0: every positive is pulled).</summary>
    public float PositiveMargin { get; init; }

    /// <summary>Square the hinge terms (default true): ℓ⁺ = max(0, d − m⁺)², ℓ⁻ = max(0, m − d)²; false: unsquared,
    /// ℓ⁺ = max(0, d − m⁺), ℓ⁻ = max(0, m − d).</summary>
    public bool Squared { get; init; } = true;

    /// <summary>Use the sampler's pairs (<see cref="EmbeddingBatch.Pairs"/>) when the batch has them; otherwise (or when
    /// false) every pair i &lt; j of the batch, positive when the coarse labels agree.</summary>
    public bool UseProvidedPairs { get; init; } = true;

    /// <summary>With all-pairs selection and patient ids present, skip pairs of scans of the same patient.</summary>
    public bool InterPatientOnly { get; init; }

    /// <summary>The reduction over pairs (default mean).</summary>
    public Reduction Reduction { get; init; } = Reduction.Mean;

    /// <summary>pytorch-metric-learning's <c>ContrastiveLoss(pos_margin=0, neg_margin=1)</c> with its defaults: the
    /// Euclidean distance on normalised embeddings, unsquared terms, and the mean over the non-zero positive terms plus
    /// the mean over the non-zero negative terms (<see cref="Reduction.PositiveNegativeMeansOverActive"/>); every pair
    /// of the batch, positive when the labels agree.</summary>
    public static ContrastiveOptions PytorchMetricLearning { get; } = new()
    {
        Distance = DistanceKind.NormalizedEuclidean, Margin = 1f, PositiveMargin = 0f, Squared = false,
        Reduction = Reduction.PositiveNegativeMeansOverActive, UseProvidedPairs = false,
    };

    /// <inheritdoc />
    public override void Validate()
    {
        Defined(Distance, nameof(Distance));
        NonNegative(Margin, nameof(Margin));
        NonNegative(PositiveMargin, nameof(PositiveMargin));
        Defined(Reduction, nameof(Reduction));
    }
}
