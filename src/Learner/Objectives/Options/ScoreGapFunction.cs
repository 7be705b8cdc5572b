namespace Learner.Objectives.Options;

/// <summary>How the weighted contrastive loss grows with the health-score gap Δ = |s_i − s_j| (g(0) = 0 for all).</summary>
public enum ScoreGapFunction
{
    /// <summary>g(Δ) = Δ / scale.</summary>
    Linear,
    /// <summary>g(Δ) = sqrt(Δ / scale).</summary>
    Sqrt,
    /// <summary>g(Δ) = exp(Δ / scale) − 1.</summary>
    Exp,
    /// <summary>g(Δ) = the user's <see cref="WeightedContrastiveOptions.CustomGapFunction"/>(Δ).</summary>
    Custom,
}
