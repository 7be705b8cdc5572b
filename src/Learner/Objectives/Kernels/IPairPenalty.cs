namespace Learner.Objectives.Kernels;

/// <summary>The loss of one pair as a function of its distance. Implemented by structs so that the pair engine is
/// specialised per objective.</summary>
internal interface IPairPenalty
{
    /// <summary>Whether the penalty treats (i, j) as a positive pair: the engine decides it once per pair, splits the
    /// loss into its positive and negative parts by it, and hands it to <see cref="Evaluate"/>.</summary>
    /// <param name="i">First row.</param>
    /// <param name="j">Second row.</param>
    /// <param name="positiveFlag">The sampler's flag for explicit pairs (false for all-pairs selection).</param>
    /// <param name="providedGap">The sampler's |Δscore| for explicit pairs (<see cref="IndexPair.ScoreGap"/>, possibly NaN);
    /// NaN for all-pairs selection.</param>
    bool IsPositive(int i, int j, bool positiveFlag, float providedGap);

    /// <summary>ℓ(i, j, d) and dℓ/dd.</summary>
    /// <param name="i">First row.</param>
    /// <param name="j">Second row.</param>
    /// <param name="positive">What <see cref="IsPositive"/> returned for the pair.</param>
    /// <param name="providedGap">As for <see cref="IsPositive"/>.</param>
    /// <param name="distance">d(i, j).</param>
    /// <param name="grad">dℓ/dd.</param>
    /// <returns>ℓ.</returns>
    double Evaluate(int i, int j, bool positive, float providedGap, double distance, out double grad);
}
