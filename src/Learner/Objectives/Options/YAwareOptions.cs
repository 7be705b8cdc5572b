using Learner.Objectives.Distances;

namespace Learner.Objectives.Options;

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
