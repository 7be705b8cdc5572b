using System.Globalization;
using Learner.Objectives.Distances;

namespace Learner.Objectives;

/// <summary>
/// Checks a user-written objective, distance or reducer against central finite differences of its own value: the analytic
/// gradient an objective writes (or a distance accumulates) must agree with (f(x + h) − f(x − h)) / 2h for every
/// embedding coordinate. Objectives compute in float32, so the check is a sanity check at a tolerance of about 1 %
/// (relative, with a floor of 1 % of the largest gradient entry); the library's own objectives are held to float64
/// references in its tests.
/// </summary>
public static class GradientCheck
{
    /// <summary>Checks <paramref name="objective"/>'s gradient with respect to the embeddings.</summary>
    /// <param name="objective">The objective.</param>
    /// <param name="embeddings">B×D embeddings (copied).</param>
    /// <param name="count">B.</param>
    /// <param name="dimension">D.</param>
    /// <param name="metadata">The batch's metadata, or null.</param>
    /// <param name="step">The relative step h = step·max(1, |x|).</param>
    /// <param name="tolerance">The relative tolerance.</param>
    /// <returns>The result; <see cref="GradientCheckResult.EnsurePassed"/> throws when it failed.</returns>
    public static GradientCheckResult Objective(IObjective objective, ReadOnlySpan<float> embeddings, int count, int dimension,
        BatchMetadata? metadata = null, double step = 1e-3, double tolerance = 1e-2)
    {
        ArgumentNullException.ThrowIfNull(objective);
        metadata ??= new BatchMetadata();
        var e = embeddings.ToArray();
        var analytic = new float[e.Length];
        objective.Compute(metadata.ToBatch(e, count, dimension), analytic);
        var numeric = new double[e.Length];
        for (int k = 0; k < e.Length; k++)
        {
            float x = e[k];
            float h = (float)(step * Math.Max(1.0, Math.Abs(x)));
            e[k] = x + h; double fp = objective.Compute(metadata.ToBatch(e, count, dimension), default).Loss;
            e[k] = x - h; double fm = objective.Compute(metadata.ToBatch(e, count, dimension), default).Loss;
            e[k] = x;
            numeric[k] = (fp - fm) / ((double)(x + h) - (x - h));
        }
        return Compare($"objective '{objective.Name}'", analytic.Select(v => (double)v).ToArray(), numeric, dimension, tolerance);
    }

    /// <summary>Checks a distance: its blocks against its exact pairs, and the gradient of L = Σ_{i≠j} c_ij·d(i, j)
    /// (fixed coefficients c_ij in [0.5, 1.5]) accumulated pair by pair and block by block, against finite differences of
    /// L computed from <see cref="PairDistance.Pair"/>.</summary>
    /// <param name="distance">The distance.</param>
    /// <param name="embeddings">B×D embeddings (copied).</param>
    /// <param name="count">B.</param>
    /// <param name="dimension">D.</param>
    /// <param name="step">The relative step h = step·max(1, |x|).</param>
    /// <param name="tolerance">The relative tolerance.</param>
    /// <returns>The first failing check, or the gradient check's result.</returns>
    public static GradientCheckResult Distance(PairDistance distance, ReadOnlySpan<float> embeddings, int count, int dimension,
        double step = 1e-3, double tolerance = 1e-2)
    {
        ArgumentNullException.ThrowIfNull(distance);
        var e = embeddings.ToArray();
        int n = count;
        var c = new double[n * n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                c[i * n + j] = i == j ? 0 : 0.5 + ((i * 7919 + j * 104729) % 1000) / 1000.0;
        double Value(float[] x)
        {
            distance.Prepare(x, n, dimension);
            double s = 0;
            for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) if (i != j) s += c[i * n + j] * distance.Pair(i, j);
            return s;
        }
        // Blocks against pairs.
        distance.Prepare(e, n, dimension);
        var block = new float[n * n];
        distance.Block(0, n, block);
        var pairs = new double[n * n];
        for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) pairs[i * n + j] = distance.Pair(i, j);
        var blockCheck = Compare($"{distance.GetType().Name}.Block against Pair", block.Select(v => (double)v).ToArray(), pairs, n, tolerance);
        if (!blockCheck.Passed) return blockCheck;
        // Pair-by-pair accumulation.
        distance.BeginGradient();
        for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) if (i != j) distance.AccumulatePair(i, j, c[i * n + j], pairs[i * n + j]);
        var byPair = new float[e.Length];
        distance.FinishGradient(byPair, 1f);
        // Block accumulation.
        distance.BeginGradient();
        var coef = c.Select(v => (float)v).ToArray();
        distance.AccumulateBlock(0, n, coef, block);
        var byBlock = new float[e.Length];
        distance.FinishGradient(byBlock, 1f);
        var numeric = new double[e.Length];
        for (int k = 0; k < e.Length; k++)
        {
            float x = e[k];
            float h = (float)(step * Math.Max(1.0, Math.Abs(x)));
            e[k] = x + h; double fp = Value(e);
            e[k] = x - h; double fm = Value(e);
            e[k] = x;
            numeric[k] = (fp - fm) / ((double)(x + h) - (x - h));
        }
        var pairCheck = Compare($"{distance.GetType().Name}.AccumulatePair", byPair.Select(v => (double)v).ToArray(), numeric, dimension, tolerance);
        if (!pairCheck.Passed) return pairCheck;
        return Compare($"{distance.GetType().Name}.AccumulateBlock", byBlock.Select(v => (double)v).ToArray(), numeric, dimension, tolerance);
    }

    /// <summary>Checks a reducer: its weights must be the gradient of its own reduction, ∂L/∂ℓ_k = w_k, compared with
    /// central finite differences of <see cref="Reducers.ReducerBase.Reduce"/> in each term (a reducer whose weights
    /// vary smoothly with the terms fails). Choose terms away from the reducer's thresholds.</summary>
    /// <param name="reducer">The reducer.</param>
    /// <param name="terms">The terms ℓ_k.</param>
    /// <param name="kinds">Their kinds (same length).</param>
    /// <param name="step">The relative step h = step·max(1, |ℓ|).</param>
    /// <param name="tolerance">The relative tolerance.</param>
    /// <returns>The result.</returns>
    public static GradientCheckResult Reducer(Reducers.ReducerBase reducer, ReadOnlySpan<double> terms, ReadOnlySpan<Reducers.TermKind> kinds,
        double step = 1e-6, double tolerance = 1e-6)
    {
        ArgumentNullException.ThrowIfNull(reducer);
        var t = terms.ToArray(); var k = kinds.ToArray();
        var analytic = new double[t.Length]; var scratch = new double[t.Length];
        reducer.Reduce(t, k, analytic);
        var numeric = new double[t.Length];
        for (int i = 0; i < t.Length; i++)
        {
            double x = t[i], h = step * Math.Max(1.0, Math.Abs(x));
            t[i] = x + h; double fp = reducer.Reduce(t, k, scratch);
            t[i] = x - h; double fm = reducer.Reduce(t, k, scratch);
            t[i] = x;
            numeric[i] = (fp - fm) / (2 * h);
        }
        return Compare($"reducer {reducer.GetType().Name}", analytic, numeric, 1, tolerance);
    }

    private static GradientCheckResult Compare(string what, double[] analytic, double[] numeric, int columns, double tolerance)
    {
        double floor = tolerance * numeric.Select(Math.Abs).DefaultIfEmpty(0).Max() + 1e-12;
        int worst = -1; double worstExcess = double.NegativeInfinity, worstError = 0;
        for (int k = 0; k < analytic.Length; k++)
        {
            double err = Math.Abs(analytic[k] - numeric[k]);
            double excess = double.IsFinite(err) ? err - (tolerance * Math.Abs(numeric[k]) + floor) : double.PositiveInfinity;
            if (excess > worstExcess) { worstExcess = excess; worst = k; worstError = err; }
        }
        if (worst < 0) return new GradientCheckResult(true, 0, -1, 0, 0, $"{what}: nothing to check.");
        bool passed = worstExcess <= 0;
        string text = string.Format(CultureInfo.InvariantCulture,
            "{0}: {1} at [{2}, {3}]: analytic {4:G6}, finite difference {5:G6} (|error| {6:G3}, tolerance {7:G3} relative).",
            what, passed ? "passed, worst entry" : "FAILED", worst / columns, worst % columns, analytic[worst], numeric[worst], worstError, tolerance);
        return new GradientCheckResult(passed, worstError, worst, analytic[worst], numeric[worst], text);
    }
}

/// <summary>The outcome of a <see cref="GradientCheck"/>.</summary>
/// <param name="Passed">Whether every entry agreed within the tolerance.</param>
/// <param name="MaxError">|analytic − numeric| at the worst entry.</param>
/// <param name="WorstIndex">The worst entry's flat index (row-major), or −1 when there was nothing to check.</param>
/// <param name="Analytic">The analytic value there.</param>
/// <param name="Numeric">The finite-difference (or reference) value there.</param>
/// <param name="Description">A sentence naming what was checked, the worst entry and both values.</param>
public sealed record GradientCheckResult(bool Passed, double MaxError, int WorstIndex, double Analytic, double Numeric, string Description)
{
    /// <summary>Throws when the check failed.</summary>
    /// <exception cref="InvalidOperationException">The check failed; the message is <see cref="Description"/>.</exception>
    public void EnsurePassed()
    {
        if (!Passed) throw new InvalidOperationException(Description);
    }
}
