namespace Learner.Objectives.Reducers;

/// <summary>
/// Reduces the terms of a pair or triplet objective (one per pair or per triplet) to the batch loss
/// L = Σ_k w_k·ℓ_k, pytorch-metric-learning's reducer. The weights are also the exact gradient of the reduction:
/// ∂L/∂ℓ_k = w_k, the weights being held constant — they may depend on the terms only through piecewise-constant rules
/// (counts, thresholds, kinds), as every pytorch-metric-learning reducer does. Pass one to
/// <see cref="ContrastiveLoss"/>, <see cref="TripletLoss"/>, <see cref="WeightedContrastiveLoss"/> or
/// <see cref="PairPenaltyLoss"/> (it replaces the options' <see cref="Reduction"/>, which must then be left at its default); a <see cref="MinedObjective"/>
/// feeds such an objective.
/// </summary>
/// <remarks>A reducer whose weights follow from the counts alone derives from <see cref="CountReducer"/>: the fused
/// kernels then never store the terms. Any other reducer is handed the whole term vector once per call
/// (<see cref="Weights"/>), after a first pass that computes the terms and before the pass that pushes the gradient
/// back, so the kernels make no call per term. Implementations must be pure functions of their arguments.</remarks>
public abstract class ReducerBase
{
    /// <summary>The built-in reducer of a <see cref="Reduction"/> (a shared, stateless instance).</summary>
    /// <param name="reduction">The reduction.</param>
    /// <returns>The reducer.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The reduction is undefined.</exception>
    public static CountReducer For(Reduction reduction) => reduction switch
    {
        Reduction.Mean => MeanReducer.Instance,
        Reduction.Sum => SumReducer.Instance,
        Reduction.MeanOverActive => MeanOverActiveReducer.Instance,
        Reduction.PositiveNegativeMeansOverActive => PositiveNegativeMeansReducer.Instance,
        _ => throw new ArgumentOutOfRangeException(nameof(reduction), reduction, "Unknown reduction."),
    };

    /// <summary>The reducer an objective uses: <paramref name="reducer"/> when one was passed, else the built-in of the
    /// options' <paramref name="reduction"/>. A passed reducer replaces the reduction, so the reduction must then be left at
    /// its default (<see cref="Reduction.Mean"/>, every options type's) or name that same reducer; anything else would be
    /// silently ignored and is refused.</summary>
    /// <param name="reducer">The reducer passed to the objective, or null.</param>
    /// <param name="reduction">The options' reduction.</param>
    /// <param name="option">The option's name for the message, e.g. <c>ContrastiveOptions.Reduction</c>.</param>
    /// <returns>The reducer.</returns>
    /// <exception cref="ArgumentException">A reducer was passed and the options name a different, non-default reduction.</exception>
    public static ReducerBase Resolve(ReducerBase? reducer, Reduction reduction, string option)
    {
        if (reducer is null) return For(reduction);
        if (reduction != Reduction.Mean && !ReferenceEquals(reducer, For(reduction)))
            throw new ArgumentException($"{option} is {reduction}, but the reducer {reducer.GetType().Name} passed to the objective replaces it and would ignore it; "
                + $"leave {option} at its default (Mean) when passing a reducer, or pass no reducer.", nameof(reducer));
        return reducer;
    }

    /// <summary>Whether the weights follow from <see cref="TermCounts"/> alone, the same for every term of one kind
    /// (true for <see cref="CountReducer"/>); the fused batch-all and semi-hard triplet selections need such a reducer.</summary>
    public virtual bool CountsOnly => false;

    /// <summary>Writes each term's weight w_k = ∂L/∂ℓ_k.</summary>
    /// <param name="terms">ℓ_k, one per pair or triplet (≥ 0 for the built-in objectives).</param>
    /// <param name="kinds">What each term stands for (same length).</param>
    /// <param name="weights">Receives w_k (same length, overwritten).</param>
    public abstract void Weights(ReadOnlySpan<double> terms, ReadOnlySpan<TermKind> kinds, Span<double> weights);

    /// <summary>L = Σ_k w_k·ℓ_k with the weights of <see cref="Weights"/> (which are written).</summary>
    /// <param name="terms">The terms.</param>
    /// <param name="kinds">Their kinds.</param>
    /// <param name="weights">Receives the weights.</param>
    /// <returns>The reduced loss.</returns>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    public double Reduce(ReadOnlySpan<double> terms, ReadOnlySpan<TermKind> kinds, Span<double> weights)
    {
        if (kinds.Length != terms.Length || weights.Length != terms.Length)
            throw new ArgumentException($"{GetType().Name}: {terms.Length} terms, {kinds.Length} kinds and {weights.Length} weights must have one length.", nameof(kinds));
        Weights(terms, kinds, weights);
        double sum = 0;
        for (int k = 0; k < terms.Length; k++) sum += weights[k] * terms[k];
        return sum;
    }

    /// <summary>Counts the terms by kind and activity.</summary>
    /// <param name="terms">The terms.</param>
    /// <param name="kinds">Their kinds.</param>
    /// <returns>The counts.</returns>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    public static TermCounts Count(ReadOnlySpan<double> terms, ReadOnlySpan<TermKind> kinds)
    {
        if (kinds.Length != terms.Length)
            throw new ArgumentException($"ReducerBase.Count: {terms.Length} terms and {kinds.Length} kinds must have one length.", nameof(kinds));
        long active = 0, pos = 0, posActive = 0;
        for (int k = 0; k < terms.Length; k++)
        {
            bool on = terms[k] != 0;
            if (on) active++;
            if (kinds[k] == TermKind.PositivePair) { pos++; if (on) posActive++; }
        }
        return new TermCounts(terms.Length, active, pos, posActive);
    }
}

/// <summary>
/// A reducer whose weights follow from the counts alone: every positive-pair term gets one factor, every other term
/// (negative pair, triplet) another (<see cref="Scales"/>). The fused kernels reduce such a reducer's terms from running
/// sums, without storing them. The built-in reductions (<see cref="ReducerBase.For"/>) are count reducers.
/// </summary>
public abstract class CountReducer : ReducerBase
{
    /// <inheritdoc />
    public sealed override bool CountsOnly => true;

    /// <summary>Whether every term gets the same factor (the positive and the other factor are always equal), so a
    /// kernel may accumulate the gradient before the counts are known and scale it once.</summary>
    public virtual bool Uniform => false;

    /// <summary>The factor on each positive-pair term and on each other term.</summary>
    /// <param name="counts">The counts of the call's terms.</param>
    /// <returns>The two factors (equal when <see cref="Uniform"/>).</returns>
    public abstract (double Positive, double Other) Scales(in TermCounts counts);

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    public sealed override void Weights(ReadOnlySpan<double> terms, ReadOnlySpan<TermKind> kinds, Span<double> weights)
    {
        if (kinds.Length != terms.Length || weights.Length != terms.Length)
            throw new ArgumentException($"{GetType().Name}: {terms.Length} terms, {kinds.Length} kinds and {weights.Length} weights must have one length.", nameof(weights));
        var (p, o) = Scales(Count(terms, kinds));
        for (int k = 0; k < terms.Length; k++) weights[k] = kinds[k] == TermKind.PositivePair ? p : o;
    }

    /// <summary>1/x, or 0 when x is 0.</summary>
    /// <param name="x">A count.</param>
    /// <returns>The reciprocal.</returns>
    protected static double Reciprocal(long x) => x > 0 ? 1.0 / x : 0.0;
}
