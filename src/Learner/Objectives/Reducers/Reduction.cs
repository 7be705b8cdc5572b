namespace Learner.Objectives.Reducers;

/// <summary>How per-pair / per-triplet / per-anchor losses are reduced to the batch loss.</summary>
public enum Reduction
{
    /// <summary>Mean over every selected item (zero terms included).</summary>
    Mean,
    /// <summary>Sum over the items.</summary>
    Sum,
    /// <summary>Mean over the items whose loss is non-zero (Hermans et al. 2017, "batch all ≠ 0"); 0 when none is.</summary>
    MeanOverActive,
}
