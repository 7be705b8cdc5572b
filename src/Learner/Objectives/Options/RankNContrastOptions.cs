using Learner.Objectives.Distances;

namespace Learner.Objectives.Options;

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
