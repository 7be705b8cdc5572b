using Learner.Objectives.Distances;

namespace Learner.Objectives.Options;

/// <summary>Options of <see cref="NtXentLoss"/> (defaults: pytorch-metric-learning's <c>NTXentLoss()</c>).</summary>
public sealed record NtXentOptions : ObjectiveOptions
{
    /// <summary>Temperature τ &gt; 0 (default 0.07, pytorch-metric-learning's default).</summary>
    public float Temperature { get; init; } = 0.07f;

    /// <summary>The similarity (default cosine, pytorch-metric-learning's <c>CosineSimilarity()</c>).</summary>
    public SimilarityKind Similarity { get; init; } = SimilarityKind.Cosine;

    /// <inheritdoc />
    public override void Validate()
    {
        Positive(Temperature, nameof(Temperature));
        Defined(Similarity, nameof(Similarity));
    }
}
