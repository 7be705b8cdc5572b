using System;
using System.Collections.Generic;
using Learner.Objectives;
using Learner.Objectives.Distances;
using Learner.Objectives.Miners;
using Learner.Objectives.Reducers;

namespace Learner.Examples.Extensions;

/// <summary>The pseudo-Huber distance d = δ²(sqrt(1 + ‖a − b‖²/δ²) − 1): quadratic for close points, linear far away.</summary>
public sealed class PseudoHuberDistance(double delta = 1.0) : CustomDistance
{
    protected override double Distance(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double s = 0;
        for (int k = 0; k < a.Length; k++) { double t = a[k] - b[k]; s += t * t; }
        return delta * delta * (Math.Sqrt(1 + s / (delta * delta)) - 1);
    }

    protected override void Gradient(ReadOnlySpan<float> a, ReadOnlySpan<float> b, double distance, Span<double> gradA, Span<double> gradB)
    {
        // ∂d/∂a = (a − b) / sqrt(1 + ‖a − b‖²/δ²) = (a − b) / (1 + d/δ²); ∂d/∂b = −∂d/∂a.
        double scale = 1 / (1 + distance / (delta * delta));
        for (int k = 0; k < a.Length; k++) { gradA[k] = scale * (a[k] - b[k]); gradB[k] = -gradA[k]; }
    }
}

/// <summary>For each row, its nearest row of another label: one hard negative pair per row.</summary>
public sealed class NearestNegativePairMiner(DistanceKind kind = DistanceKind.Cosine) : PairMiner
{
    private readonly PairDistance _distance = PairDistance.Create(kind);

    public override void Mine(in EmbeddingBatch batch, List<IndexPair> pairs)
    {
        var labels = BatchContract.Labels(batch, "Nearest-negative miner");
        _distance.Prepare(batch.Embeddings, batch.Count, batch.Dimension);
        for (int i = 0; i < batch.Count; i++)
        {
            int best = -1; double nearest = double.PositiveInfinity;
            for (int j = 0; j < batch.Count; j++)
                if (labels[j] != labels[i] && _distance.Pair(i, j) is var d && d < nearest) { nearest = d; best = j; }
            if (best >= 0) pairs.Add(new IndexPair(i, best, Positive: false));
        }
    }
}

/// <summary>Positives pulled in with d²; negatives pushed beyond a margin with a soft-plus hinge.</summary>
public sealed class SoftMarginPenalty(double margin = 0.5) : PairPenalty
{
    public override double Evaluate(double distance, bool positive, out double gradient)
    {
        if (positive) { gradient = 2 * distance; return distance * distance; }
        double v = margin - distance, e = Math.Exp(-Math.Abs(v));
        gradient = -(v >= 0 ? 1 / (1 + e) : e / (1 + e));
        return Math.Max(v, 0) + Math.Log(1 + e);
    }
}

/// <summary>Online hard-example mining as a reducer: the mean of the hardest <c>fraction</c> of the terms (ties at the
/// cut included), every other term weighted 0.</summary>
public sealed class HardestFractionReducer(double fraction = 0.5) : ReducerBase
{
    private double[] _sorted = Array.Empty<double>();

    public override void Weights(ReadOnlySpan<double> terms, ReadOnlySpan<TermKind> kinds, Span<double> weights)
    {
        if (terms.Length == 0) return;
        if (_sorted.Length < terms.Length) _sorted = new double[terms.Length];
        var sorted = _sorted.AsSpan(0, terms.Length);
        terms.CopyTo(sorted);
        sorted.Sort();
        int keep = Math.Max(1, (int)Math.Ceiling(fraction * terms.Length));
        double cut = sorted[terms.Length - keep];
        int kept = 0;
        foreach (double t in terms) if (t >= cut) kept++;
        for (int k = 0; k < terms.Length; k++) weights[k] = terms[k] >= cut ? 1.0 / kept : 0.0;
    }
}

public static class ExtensionExample
{
    /// <summary>Checks the distance, the reducer and the assembled objective, then computes one mined step.</summary>
    public static ObjectiveResult Run(float[] embeddings, int count, int dimension, int[] labels)
    {
        GradientCheck.Distance(new PseudoHuberDistance(), embeddings, count, dimension).EnsurePassed();
        GradientCheck.Reducer(new HardestFractionReducer(), new[] { 0.3, 1.2, 0.0, 0.8 },
            new[] { TermKind.NegativePair, TermKind.NegativePair, TermKind.PositivePair, TermKind.PositivePair }).EnsurePassed();

        // A miner, a penalty, a distance and a reducer, composed into one objective.
        var objective = new MinedObjective(new NearestNegativePairMiner(),
            new PairPenaltyLoss("soft-margin", new SoftMarginPenalty(), options: null, new PseudoHuberDistance(), new HardestFractionReducer()));
        var metadata = new BatchMetadata { Labels = labels };
        GradientCheck.Objective(objective, embeddings, count, dimension, metadata).EnsurePassed();

        var gradient = new float[embeddings.Length];
        return objective.Compute(metadata.ToBatch(embeddings, count, dimension), gradient);
    }
}
