namespace Learner.Objectives.Reducers;

/// <summary><see cref="Reduction.Mean"/>: 1/count on every term (pytorch-metric-learning's <c>MeanReducer</c>).</summary>
public sealed class MeanReducer : CountReducer
{
    /// <summary>The shared instance.</summary>
    public static MeanReducer Instance { get; } = new();

    /// <inheritdoc />
    public override bool Uniform => true;

    /// <inheritdoc />
    public override (double Positive, double Other) Scales(in TermCounts counts) { double s = Reciprocal(counts.Count); return (s, s); }
}

/// <summary><see cref="Reduction.Sum"/>: 1 on every term (pytorch-metric-learning's <c>SumReducer</c>).</summary>
public sealed class SumReducer : CountReducer
{
    /// <summary>The shared instance.</summary>
    public static SumReducer Instance { get; } = new();

    /// <inheritdoc />
    public override bool Uniform => true;

    /// <inheritdoc />
    public override (double Positive, double Other) Scales(in TermCounts counts) => (1.0, 1.0);
}

/// <summary><see cref="Reduction.MeanOverActive"/>: 1/active on every term, 0 when no term is non-zero
/// (pytorch-metric-learning's <c>AvgNonZeroReducer</c> on a loss with one part).</summary>
public sealed class MeanOverActiveReducer : CountReducer
{
    /// <summary>The shared instance.</summary>
    public static MeanOverActiveReducer Instance { get; } = new();

    /// <inheritdoc />
    public override bool Uniform => true;

    /// <inheritdoc />
    public override (double Positive, double Other) Scales(in TermCounts counts) { double s = Reciprocal(counts.Active); return (s, s); }
}

/// <summary><see cref="Reduction.PositiveNegativeMeansOverActive"/>: 1/(non-zero positive terms) on the positive pairs
/// and 1/(non-zero other terms) on the rest, each 0 when it has none (pytorch-metric-learning's <c>AvgNonZeroReducer</c>
/// on <c>ContrastiveLoss</c>'s two sub-losses).</summary>
public sealed class PositiveNegativeMeansReducer : CountReducer
{
    /// <summary>The shared instance.</summary>
    public static PositiveNegativeMeansReducer Instance { get; } = new();

    /// <inheritdoc />
    public override (double Positive, double Other) Scales(in TermCounts counts)
        => (Reciprocal(counts.PositiveActive), Reciprocal(counts.OtherActive));
}
