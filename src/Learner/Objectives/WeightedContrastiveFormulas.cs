using Learner.Objectives.Options;

namespace Learner.Objectives;

/// <summary>
/// The per-pair rules of <see cref="WeightedContrastiveLoss"/> that depend only on the metadata (which pairs are
/// positives, each pair's score gap Δ, the negatives' weights w_ij and margins m_ij), public so that another backend
/// computes exactly the same coefficients, in double precision, as the managed objective. The managed objective
/// computes its coefficients with these very methods.
/// </summary>
public static class WeightedContrastiveFormulas
{
    /// <summary>Δ of a pair: the sampler's gap when finite, else |s_i − s_j| of the batch scores.</summary>
    /// <param name="scores">The batch's scores.</param>
    /// <param name="i">First row.</param>
    /// <param name="j">Second row.</param>
    /// <param name="providedGap">The pair's <see cref="IndexPair.ScoreGap"/> (NaN when unknown or for in-batch pairs).</param>
    /// <returns>Δ.</returns>
    public static double PairGap(float[] scores, int i, int j, float providedGap) => float.IsFinite(providedGap) ? providedGap : Math.Abs((double)scores[i] - scores[j]);

    /// <summary>Whether a pair is a positive: the sampler's flag for provided pairs when
    /// <see cref="WeightedContrastiveOptions.PositivesFromPairs"/>, else Δ ≤ the positive threshold.</summary>
    /// <param name="options">The options.</param>
    /// <param name="flag">The pair's <see cref="IndexPair.Positive"/> flag.</param>
    /// <param name="gap">Δ.</param>
    /// <param name="provided">Whether the pair is a sampler's pair (false: an in-batch pair).</param>
    /// <returns>True for a positive.</returns>
    public static bool IsPositive(WeightedContrastiveOptions options, bool flag, double gap, bool provided) => provided && options.PositivesFromPairs ? flag : gap <= options.PositiveThreshold;

    /// <summary>The factor the negatives' g(Δ) weights are multiplied by: 1 / (mean g over the selection's negatives)
    /// when <see cref="WeightedContrastiveOptions.NormalizeWeights"/> (0 when that mean is 0), else 1.</summary>
    /// <param name="options">The options.</param>
    /// <param name="sumG">Σ g(Δ) over the selection's negatives.</param>
    /// <param name="negatives">The number of negatives.</param>
    /// <returns>The factor.</returns>
    public static double WeightScale(WeightedContrastiveOptions options, double sumG, long negatives)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!options.WeightByGap || !options.NormalizeWeights) return 1.0;
        double mean = negatives > 0 ? sumG / negatives : 0;
        return mean > 0 ? 1.0 / mean : 0.0;
    }

    /// <summary>A negative pair's weight w_ij from g = g(Δ).</summary>
    /// <param name="options">The options.</param>
    /// <param name="g">g(Δ).</param>
    /// <param name="weightScale">The factor from <see cref="WeightScale"/>.</param>
    /// <returns>w_ij.</returns>
    public static double NegativeWeight(WeightedContrastiveOptions options, double g, double weightScale) => options.WeightByGap ? g * weightScale : 1.0;

    /// <summary>A negative pair's margin m_ij from g = g(Δ).</summary>
    /// <param name="options">The options.</param>
    /// <param name="g">g(Δ).</param>
    /// <returns>m_ij.</returns>
    public static double NegativeMargin(WeightedContrastiveOptions options, double g) => options.Margin + (options.MarginByGap ? options.MarginSlope * g : 0.0);
}
