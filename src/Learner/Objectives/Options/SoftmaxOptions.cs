using Learner.Objectives.Distances;

namespace Learner.Objectives.Options;

/// <summary>Which InfoNCE formulation <see cref="InfoNceLoss"/> computes.</summary>
public enum InfoNceVariant
{
    /// <summary>Each scan's first view against all second views: CE(u_i·v_k/τ, k = i) (van den Oord et al. 2018; MoCo/CLIP one direction).</summary>
    CrossView,
    /// <summary>The mean of both directions, views 1→2 and 2→1 (CLIP).</summary>
    Symmetric,
    /// <summary>NT-Xent over the 2B views, other views of every scan as negatives (SimCLR, Chen et al. 2020).</summary>
    NtXent,
}

/// <summary>Options of <see cref="InfoNceLoss"/>.</summary>
public sealed record InfoNceOptions : ObjectiveOptions
{
    /// <summary>Temperature τ &gt; 0 (default 0.1).</summary>
    public float Temperature { get; init; } = 0.1f;

    /// <summary>The formulation (default cross-view).</summary>
    public InfoNceVariant Variant { get; init; } = InfoNceVariant.CrossView;

    /// <summary>The similarity (default cosine).</summary>
    public SimilarityKind Similarity { get; init; } = SimilarityKind.Cosine;

    /// <inheritdoc />
    public override void Validate()
    {
        Positive(Temperature, nameof(Temperature));
        Defined(Variant, nameof(Variant));
        Defined(Similarity, nameof(Similarity));
    }
}

/// <summary>Options of <see cref="SupConLoss"/>.</summary>
public sealed record SupConOptions : ObjectiveOptions
{
    /// <summary>Temperature τ &gt; 0 (default 0.1).</summary>
    public float Temperature { get; init; } = 0.1f;

    /// <summary>The similarity (default cosine).</summary>
    public SimilarityKind Similarity { get; init; } = SimilarityKind.Cosine;

    /// <inheritdoc />
    public override void Validate()
    {
        Positive(Temperature, nameof(Temperature));
        Defined(Similarity, nameof(Similarity));
    }
}

/// <summary>Options of <see cref="YAwareInfoNceLoss"/>.</summary>
public sealed record YAwareOptions : ObjectiveOptions
{
    /// <summary>Temperature τ &gt; 0 (default 0.1).</summary>
    public float Temperature { get; init; } = 0.1f;

    /// <summary>Bandwidth σ &gt; 0 of the Gaussian kernel over score differences, in score units (default 1).</summary>
    public float Sigma { get; init; } = 1f;

    /// <summary>The similarity (default cosine).</summary>
    public SimilarityKind Similarity { get; init; } = SimilarityKind.Cosine;

    /// <inheritdoc />
    public override void Validate()
    {
        Positive(Temperature, nameof(Temperature));
        Positive(Sigma, nameof(Sigma));
        Defined(Similarity, nameof(Similarity));
    }
}

/// <summary>Options of <see cref="RankNContrastLoss"/>.</summary>
public sealed record RankNContrastOptions : ObjectiveOptions
{
    /// <summary>Temperature τ &gt; 0 (default 2, as in the paper).</summary>
    public float Temperature { get; init; } = 2f;

    /// <summary>The distance d; the similarity is −d (default Euclidean: the paper's negative L2 norm).</summary>
    public DistanceKind Distance { get; init; } = DistanceKind.Euclidean;

    /// <inheritdoc />
    public override void Validate()
    {
        Positive(Temperature, nameof(Temperature));
        Defined(Distance, nameof(Distance));
    }
}
