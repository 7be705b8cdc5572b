using Learner.Objectives.Distances;
using Learner.Objectives.Reducers;

namespace Learner.Objectives.Options;

/// <summary>Options of <see cref="WeightedContrastiveLoss"/> (LEARNER): the push between two scans grows with the
/// gap between their health scores, through their weight, their margin, or both.</summary>
public sealed record WeightedContrastiveOptions : ObjectiveOptions
{
    /// <summary>The distance (default cosine).</summary>
    public DistanceKind Distance { get; init; } = DistanceKind.Cosine;

    /// <summary>Base margin m₀ ≥ 0 (default 0.5).</summary>
    public float Margin { get; init; } = 0.5f;

    /// <summary>Pairs with |Δscore| ≤ this are positives (pulled together); the rest are pushed apart. ≥ 0 (default 0).</summary>
    public float PositiveThreshold { get; init; }

    /// <summary>The growth function g of the score gap (default linear).</summary>
    public ScoreGapFunction GapFunction { get; init; } = ScoreGapFunction.Linear;

    /// <summary>The gap's scale in g (score units); &gt; 0 (default 1).</summary>
    public float GapScale { get; init; } = 1f;

    /// <summary>g for <see cref="ScoreGapFunction.Custom"/>: finite, ≥ 0, called with Δ ≥ 0.</summary>
    public Func<double, double>? CustomGapFunction { get; init; }

    /// <summary>Weight each negative pair by g(Δ) (default true).</summary>
    public bool WeightByGap { get; init; } = true;

    /// <summary>Let each negative pair's margin grow: m = m₀ + <see cref="MarginSlope"/>·g(Δ) (default false).</summary>
    public bool MarginByGap { get; init; }

    /// <summary>α in m = m₀ + α·g(Δ); ≥ 0 (default 0.5).</summary>
    public float MarginSlope { get; init; } = 0.5f;

    /// <summary>The ranking form: a negative pair is pulled to its margin from both sides, ℓ = w·(m_ij − d)², instead of
    /// only pushed while closer, ℓ = w·max(0, m_ij − d)². With <see cref="MarginByGap"/> every inter-patient distance
    /// then has a target that grows monotonically with the score gap (positives keep the target 0), so distances are
    /// ordered by |Δscore| rather than saturating once beyond a constant margin (default false).</summary>
    public bool TargetDistance { get; init; }

    /// <summary>Divide the negative weights by their mean over the batch, so the loss scale does not depend on the
    /// batch's spread of scores (default true).</summary>
    public bool NormalizeWeights { get; init; } = true;

    /// <summary>Use the sampler's pairs (<see cref="EmbeddingBatch.Pairs"/>) when the batch has them; otherwise every pair
    /// i &lt; j. A provided pair's finite <see cref="IndexPair.ScoreGap"/> is its Δ (it equals |s_i − s_j| up to float
    /// rounding); see <see cref="PositivesFromPairs"/> for which provided pairs are positives.</summary>
    public bool UseProvidedPairs { get; init; } = true;

    /// <summary>For provided pairs: true (default) takes positive/negative from the sampler's flag
    /// (<see cref="IndexPair.Positive"/>, e.g. the inter-patient sampler's same-coarse-label rule), so a negative pair is
    /// weighted by g(Δ) even if Δ ≤ <see cref="PositiveThreshold"/>; false decides by Δ ≤ <see cref="PositiveThreshold"/>
    /// and ignores the flag. All-pairs selection always decides by the threshold.</summary>
    public bool PositivesFromPairs { get; init; } = true;

    /// <summary>With all-pairs selection and patient ids present, skip pairs of scans of the same patient (the paper
    /// contrasts different patients; default true).</summary>
    public bool InterPatientOnly { get; init; } = true;

    /// <summary>The reduction over pairs (default mean).</summary>
    public Reduction Reduction { get; init; } = Reduction.Mean;

    /// <inheritdoc />
    public override void Validate()
    {
        Defined(Distance, nameof(Distance));
        NonNegative(Margin, nameof(Margin));
        NonNegative(PositiveThreshold, nameof(PositiveThreshold));
        Defined(GapFunction, nameof(GapFunction));
        Positive(GapScale, nameof(GapScale));
        NonNegative(MarginSlope, nameof(MarginSlope));
        Defined(Reduction, nameof(Reduction));
        if (GapFunction == ScoreGapFunction.Custom && CustomGapFunction is null)
            throw new ArgumentException("WeightedContrastiveOptions.CustomGapFunction must be set when GapFunction is Custom.", nameof(CustomGapFunction));
        if (!WeightByGap && !MarginByGap)
            throw new ArgumentException("WeightedContrastiveOptions: at least one of WeightByGap and MarginByGap must be true (otherwise use ContrastiveLoss).", nameof(WeightByGap));
    }

    /// <summary>g(Δ) for this configuration.</summary>
    /// <param name="gap">Δ ≥ 0.</param>
    /// <returns>g(Δ).</returns>
    /// <exception cref="ArgumentException">The custom function returned a negative or non-finite value.</exception>
    public double Gap(double gap)
    {
        double g = GapFunction switch
        {
            ScoreGapFunction.Linear => gap / GapScale,
            ScoreGapFunction.Sqrt => Math.Sqrt(gap / GapScale),
            ScoreGapFunction.Exp => Math.Exp(gap / GapScale) - 1.0,
            _ => CustomGapFunction!(gap),
        };
        if (!(g >= 0) || !double.IsFinite(g))
            throw new ArgumentException($"WeightedContrastiveOptions.{(GapFunction == ScoreGapFunction.Custom ? nameof(CustomGapFunction) : nameof(GapFunction))} gave {g} for the score gap {gap}; it must be finite and ≥ 0.", nameof(CustomGapFunction));
        return g;
    }
}
