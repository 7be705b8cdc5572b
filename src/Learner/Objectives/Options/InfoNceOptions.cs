using Learner.Objectives.Distances;

namespace Learner.Objectives.Options;

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
