namespace Learner.Objectives.Kernels;

/// <summary>The loss of one pair as a function of its distance. Implemented by structs so that the pair engine is
/// specialised per objective.</summary>
internal interface IPairPenalty
{
    /// <summary>ℓ(i, j, d) and dℓ/dd.</summary>
    /// <param name="i">First row.</param>
    /// <param name="j">Second row.</param>
    /// <param name="positiveFlag">The sampler's flag for explicit pairs (false for all-pairs selection).</param>
    /// <param name="providedGap">The sampler's |Δscore| for explicit pairs (<see cref="IndexPair.ScoreGap"/>, possibly NaN);
    /// NaN for all-pairs selection.</param>
    /// <param name="distance">d(i, j).</param>
    /// <param name="grad">dℓ/dd.</param>
    /// <returns>ℓ.</returns>
    double Evaluate(int i, int j, bool positiveFlag, float providedGap, double distance, out double grad);

    /// <summary>Whether the penalty treats (i, j) as a positive pair (same arguments as <see cref="Evaluate"/>): the
    /// engine splits the loss into its positive and negative parts by it, and reduces them separately for
    /// <see cref="Reducers.Reduction.PositiveNegativeMeansOverActive"/>.</summary>
    bool IsPositive(int i, int j, bool positiveFlag, float providedGap);
}
