namespace Learner.Objectives.Reducers;

/// <summary>How per-pair / per-triplet / per-anchor losses are reduced to the batch loss (see <see cref="ReducerBase.For"/> for
/// the factors).</summary>
public enum Reduction
{
    /// <summary>Mean over every selected item (zero terms included).</summary>
    Mean,
    /// <summary>Sum over the items.</summary>
    Sum,
    /// <summary>Mean over the items whose loss is non-zero (Hermans et al. 2017, "batch all ≠ 0"); 0 when none is.
    /// pytorch-metric-learning's <c>AvgNonZeroReducer</c> on a loss with one part.</summary>
    MeanOverActive,
    /// <summary>Pair objectives only: the mean over the positive pairs with a non-zero term plus the mean over the
    /// negative pairs with a non-zero term (each 0 when it has none) — pytorch-metric-learning's
    /// <c>AvgNonZeroReducer</c> on <c>ContrastiveLoss</c>'s two sub-losses.</summary>
    PositiveNegativeMeansOverActive,
}
