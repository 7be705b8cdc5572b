using Learner.Objectives.Reducers;

namespace Learner.Objectives.Kernels;

/// <summary>
/// A <see cref="ReducerBase"/> over the per-anchor (NT-Xent: per-positive-pair) terms of the softmax objectives. The
/// built-in mean and sum fold into the fused pass as one factor on every term; any other reducer costs one extra pass:
/// a forward pass computes each term ℓ_k (weight 1), <see cref="Weigh(ReducerBase, TermKind)"/> hands them to the reducer once, and the fused
/// pass then runs with each term's weight w_k = ∂L/∂ℓ_k in place of the common factor.
/// </summary>
internal sealed class AnchorReduction
{
    private readonly Workspace<double> _terms = new(), _weights = new();
    private readonly Workspace<TermKind> _kinds = new();
    private readonly Workspace<double> _rowTerms = new();
    private readonly Workspace<float> _rowWeights = new();
    private int _rows;

    /// <summary>Starts a reduction over <paramref name="rows"/> softmax rows (one or more kernel runs, each given its
    /// offset), for <see cref="Forward"/>, <see cref="Weigh(ReducerBase, TermKind)"/> and <see cref="Backward"/>.</summary>
    public void Begin(int rows)
    {
        _rows = rows;
        _rowTerms.Get(rows, clear: true);
        _rowWeights.Get(rows, clear: true);
    }

    /// <summary>The forward pass of rows offset…offset+na−1: each row's unweighted term, and whether it has one (its
    /// targets' anchor weight is non-zero). Writes no gradient.</summary>
    /// <returns>The number of rows with a term.</returns>
    public int Forward<T>(SoftmaxContrastKernel kernel, T targets, int offset, ReadOnlyMemory<float> a, int na, ReadOnlyMemory<float> c, int nc, int d,
        bool self, float invTau) where T : struct, ISoftmaxTargets
    {
        var weights = _rowWeights.Get(_rows);
        for (int i = 0; i < na; i++) weights[offset + i] = targets.AnchorWeight(i) == 0f ? 0f : 1f;
        var (_, active) = kernel.Run(new ScaledTargets<T>(targets, _rowWeights.Array, offset), a, na, c, nc, d, self, invTau, Memory<float>.Empty, Memory<float>.Empty);
        kernel.RowLosses(na).CopyTo(_rowTerms.Get(_rows).Slice(offset, na));
        return active;
    }

    /// <summary>Lets the reducer weigh every row's term from <see cref="Forward"/> (each row's weight replaces its flag).</summary>
    /// <returns>L = Σ_k w_k·ℓ_k.</returns>
    public double Weigh(ReducerBase reducer, TermKind kind) => Weigh(reducer, _rowTerms.Get(_rows), _rowWeights.Get(_rows), kind);

    /// <summary>The fused pass of rows offset…offset+na−1 with each row's weight from <see cref="Weigh(ReducerBase, TermKind)"/>:
    /// accumulates Σ_k w_k ∂ℓ_k into the gradients.</summary>
    public void Backward<T>(SoftmaxContrastKernel kernel, T targets, int offset, ReadOnlyMemory<float> a, int na, ReadOnlyMemory<float> c, int nc, int d,
        bool self, float invTau, Memory<float> gradA, Memory<float> gradC) where T : struct, ISoftmaxTargets
        => kernel.Run(new ScaledTargets<T>(targets, _rowWeights.Array, offset), a, na, c, nc, d, self, invTau, gradA, gradC);

    /// <summary>Whether the reducer is one factor known from the number of terms alone (the built-in mean and sum), so the
    /// fused pass needs no terms.</summary>
    public static bool Fused(ReducerBase reducer) => reducer is MeanReducer or SumReducer;

    /// <summary>The fused factor of <paramref name="reducer"/> (<see cref="Fused"/>) for <paramref name="count"/> terms,
    /// as float32 (the mean's 1/count rounded once).</summary>
    public static float Factor(ReducerBase reducer, long count) => reducer is SumReducer ? 1f : 1f / count;

    /// <summary>Lets the reducer weigh the terms of the rows that have one.</summary>
    /// <param name="reducer">The reducer.</param>
    /// <param name="rowTerms">Each row's term ℓ_k (read where <paramref name="weights"/> is non-zero).</param>
    /// <param name="weights">On entry non-zero exactly for the rows that have a term; on exit each row's weight w_k (0 for
    /// the rows without a term).</param>
    /// <param name="kind">The terms' kind.</param>
    /// <returns>L = Σ_k w_k·ℓ_k.</returns>
    public double Weigh(ReducerBase reducer, ReadOnlySpan<double> rowTerms, Span<float> weights, TermKind kind)
    {
        int count = 0;
        for (int k = 0; k < weights.Length; k++) if (weights[k] != 0f) count++;
        var terms = _terms.Get(count); var kinds = _kinds.Get(count); var w = _weights.Get(count);
        int c = 0;
        for (int k = 0; k < weights.Length; k++) if (weights[k] != 0f) { terms[c] = rowTerms[k]; kinds[c] = kind; c++; }
        double loss = reducer.Reduce(terms, kinds, w);
        c = 0;
        for (int k = 0; k < weights.Length; k++) if (weights[k] != 0f) weights[k] = (float)w[c++];
        return loss;
    }
}
