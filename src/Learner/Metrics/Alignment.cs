using System.Globalization;

namespace Learner.Metrics;

/// <summary>
/// Alignment between embedding geometry and health change (the paper's Fig. 1): for same-patient pairs of scans,
/// the cosine distance of their embeddings against the absolute change of their health score.
/// </summary>
public static class Alignment
{
    /// <summary>
    /// Computes the cosine distance <c>1 − a·b / (‖a‖‖b‖)</c> (in double precision, clamped to [0, 2] as scipy's
    /// <c>cosine</c>) of each pair, and its Pearson, Spearman and Kendall tau-b correlation with
    /// <paramref name="absDeltaScores"/> (see <see cref="Correlations"/> for the degenerate cases: NaN for fewer
    /// than two pairs or constant distances or deltas).
    /// </summary>
    /// <param name="embeddings">Row-major <c>N×D</c> embeddings, all finite.</param>
    /// <param name="dimension">The embedding dimension <c>D</c>.</param>
    /// <param name="pairs">Pairs of row indices (same patient, two visits).</param>
    /// <param name="absDeltaScores">|score change| of each pair; finite and non-negative.</param>
    /// <returns>The distances and correlations.</returns>
    /// <exception cref="ArgumentException">
    /// The embedding length is not a multiple of <paramref name="dimension"/>, a value is not finite, a pair index is
    /// out of range, a paired row has zero norm, the pair and delta counts differ, or a delta is negative.
    /// </exception>
    public static AlignmentReport Compute(ReadOnlySpan<float> embeddings, int dimension, ReadOnlySpan<(int First, int Second)> pairs, ReadOnlySpan<double> absDeltaScores)
    {
        if (dimension < 1) throw new ArgumentOutOfRangeException(nameof(dimension), dimension, "The embedding dimension must be at least 1.");
        if (embeddings.Length % dimension != 0)
            throw new ArgumentException($"'{nameof(embeddings)}' has {embeddings.Length} elements, not a multiple of the dimension {dimension}.", nameof(embeddings));
        MetricInput.SameLength(pairs.Length, absDeltaScores.Length, nameof(pairs), nameof(absDeltaScores));
        MetricInput.Finite(embeddings, nameof(embeddings));
        MetricInput.Finite(absDeltaScores, nameof(absDeltaScores));
        for (int p = 0; p < absDeltaScores.Length; p++)
            if (absDeltaScores[p] < 0)
                throw new ArgumentException($"'{nameof(absDeltaScores)}'[{p}] = {absDeltaScores[p].ToString("R", CultureInfo.InvariantCulture)} is negative; pass the absolute score change.", nameof(absDeltaScores));
        int rows = embeddings.Length / dimension;
        var distances = new double[pairs.Length];
        for (int p = 0; p < pairs.Length; p++)
        {
            var (i, j) = pairs[p];
            if ((uint)i >= (uint)rows || (uint)j >= (uint)rows)
                throw new ArgumentException($"'{nameof(pairs)}'[{p}] = ({i}, {j}) refers to a row outside 0..{rows - 1}.", nameof(pairs));
            distances[p] = CosineDistance(embeddings.Slice(i * dimension, dimension), embeddings.Slice(j * dimension, dimension), p, i, j);
        }
        return new AlignmentReport(
            distances,
            Correlations.Pearson(distances, absDeltaScores),
            Correlations.Spearman(distances, absDeltaScores),
            Correlations.KendallTauB(distances, absDeltaScores),
            pairs.Length);
    }

    private static double CosineDistance(ReadOnlySpan<float> a, ReadOnlySpan<float> b, int pair, int i, int j)
    {
        double ab = 0, aa = 0, bb = 0;
        for (int t = 0; t < a.Length; t++)
        {
            double x = a[t], y = b[t];
            ab += x * y;
            aa += x * x;
            bb += y * y;
        }
        if (aa == 0 || bb == 0)
            throw new ArgumentException($"'pairs'[{pair}] = ({i}, {j}) pairs a zero embedding (row {(aa == 0 ? i : j)}); its cosine distance is undefined.", "pairs");
        return Math.Clamp(1.0 - ab / Math.Sqrt(aa * bb), 0.0, 2.0);
    }
}

/// <summary>The result of <see cref="Alignment.Compute"/>.</summary>
/// <param name="Distances">Cosine distance of each pair, in pair order.</param>
/// <param name="Pearson">Pearson correlation of distance and |Δscore| (NaN when degenerate).</param>
/// <param name="Spearman">Spearman rank correlation (NaN when degenerate).</param>
/// <param name="Kendall">Kendall tau-b (NaN when degenerate).</param>
/// <param name="Count">Number of pairs.</param>
public sealed record AlignmentReport(IReadOnlyList<double> Distances, double Pearson, double Spearman, double Kendall, int Count)
{
    /// <summary>One line: n and the three correlations.</summary>
    /// <returns>The summary, invariant culture.</returns>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"alignment n = {Count}: Pearson {Pearson:0.0000}, Spearman {Spearman:0.0000}, Kendall tau-b {Kendall:0.0000}");
}
