namespace Learner.Metrics;

/// <summary>Disagreement weights of Cohen's kappa between class indices <c>i</c> and <c>j</c>.</summary>
public enum KappaWeighting
{
    /// <summary>Every disagreement weighs 1 (plain Cohen's kappa).</summary>
    Unweighted,

    /// <summary>Weight <c>|i − j|</c>.</summary>
    Linear,

    /// <summary>Weight <c>(i − j)²</c>: the usual choice for ordinal classes such as worsened &lt; stable &lt; improved.</summary>
    Quadratic,
}
