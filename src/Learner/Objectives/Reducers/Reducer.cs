namespace Learner.Objectives.Reducers;

/// <summary>
/// The factors a <see cref="Reduction"/> applies to the sums of item losses (and to their gradients): the one formula
/// every backend uses, so that the managed objectives and a device backend reduce the same items in the same way.
/// </summary>
public static class Reducer
{
    /// <summary>The factor on Σ ℓ for <paramref name="count"/> items of which <paramref name="active"/> are non-zero:
    /// 1 (<see cref="Reduction.Sum"/>), 1/count (<see cref="Reduction.Mean"/>) or 1/active
    /// (<see cref="Reduction.MeanOverActive"/>), 0 when the divisor is 0.</summary>
    /// <param name="reduction">The reduction (not <see cref="Reduction.PositiveNegativeMeansOverActive"/>, which has
    /// two factors: see <see cref="Scales(Reduction, long, long, long, long)"/>).</param>
    /// <param name="count">The number of items.</param>
    /// <param name="active">The number of items with a non-zero loss.</param>
    /// <returns>The factor.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The reduction is undefined or needs two factors.</exception>
    public static double Scale(Reduction reduction, long count, long active) => reduction switch
    {
        Reduction.Sum => 1.0,
        Reduction.Mean => count > 0 ? 1.0 / count : 0.0,
        Reduction.MeanOverActive => active > 0 ? 1.0 / active : 0.0,
        Reduction.PositiveNegativeMeansOverActive => throw new ArgumentOutOfRangeException(nameof(reduction), reduction,
            "PositiveNegativeMeansOverActive reduces positive and negative pairs with two factors; use Reducer.Scales."),
        _ => throw new ArgumentOutOfRangeException(nameof(reduction), reduction, "Unknown reduction."),
    };

    /// <summary>The factors on the positive pairs' and the negative pairs' Σ ℓ: for
    /// <see cref="Reduction.PositiveNegativeMeansOverActive"/> 1/positiveActive and 1/negativeActive (0 when 0); for every
    /// other reduction both are <see cref="Scale"/> of the pooled counts.</summary>
    /// <param name="reduction">The reduction.</param>
    /// <param name="positives">Positive pairs.</param>
    /// <param name="positiveActive">Positive pairs with a non-zero term.</param>
    /// <param name="negatives">Negative pairs.</param>
    /// <param name="negativeActive">Negative pairs with a non-zero term.</param>
    /// <returns>The two factors.</returns>
    public static (double Positive, double Negative) Scales(Reduction reduction, long positives, long positiveActive, long negatives, long negativeActive)
    {
        if (reduction == Reduction.PositiveNegativeMeansOverActive)
            return (positiveActive > 0 ? 1.0 / positiveActive : 0.0, negativeActive > 0 ? 1.0 / negativeActive : 0.0);
        double s = Scale(reduction, positives + negatives, positiveActive + negativeActive);
        return (s, s);
    }

    internal static (double Positive, double Negative) Scales(Reduction reduction, in Kernels.PairStats s)
        => Scales(reduction, s.Positives, s.PositiveActive, s.Negatives, s.NegativeActive);
}
