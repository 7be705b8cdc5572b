using Learner.Objectives.Distances;
using Learner.Objectives.Reducers;

namespace Learner.Objectives.Options;

/// <summary>Options of <see cref="ContrastiveLoss"/>.</summary>
public sealed record ContrastiveOptions : ObjectiveOptions
{
    /// <summary>The distance (default cosine).</summary>
    public DistanceKind Distance { get; init; } = DistanceKind.Cosine;

    /// <summary>Negatives closer than this margin are pushed out to it; ≥ 0 (default 0.5).</summary>
    public float Margin { get; init; } = 0.5f;

    /// <summary>Use the sampler's pairs (<see cref="EmbeddingBatch.Pairs"/>) when the batch has them; otherwise (or when
    /// false) every pair i &lt; j of the batch, positive when the coarse labels agree.</summary>
    public bool UseProvidedPairs { get; init; } = true;

    /// <summary>With all-pairs selection and patient ids present, skip pairs of scans of the same patient.</summary>
    public bool InterPatientOnly { get; init; }

    /// <summary>The reduction over pairs (default mean).</summary>
    public Reduction Reduction { get; init; } = Reduction.Mean;

    /// <inheritdoc />
    public override void Validate()
    {
        Defined(Distance, nameof(Distance));
        NonNegative(Margin, nameof(Margin));
        Defined(Reduction, nameof(Reduction));
    }
}
