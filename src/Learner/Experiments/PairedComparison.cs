using Learner.Metrics;
using Learner.Nn;

namespace Learner.Experiments;

/// <summary>Which evaluation a paired comparison reads: clip pairs (every clip of a visit with every clip of the next) or
/// visit pairs (mean visit embeddings).</summary>
public enum ChangeLevel
{
    /// <summary>Clip-pair evaluation (<see cref="ExperimentRow.MacroF1"/>, <see cref="ExperimentRow.Spearman"/>).</summary>
    Clip,

    /// <summary>Visit-pair evaluation (<see cref="ExperimentRow.Visit"/>).</summary>
    Visit,
}

/// <summary>The metric a paired comparison differences.</summary>
public enum PairedMetric
{
    /// <summary>Macro-F1 of three-way change.</summary>
    MacroF1,

    /// <summary>Spearman of embedding cosine distance with |Δscore| (alignment, the paper's Fig. 1).</summary>
    Spearman,
}

/// <summary>
/// Paired patient-bootstrap differences between two models evaluated on the same held-out pairs: every replicate
/// resamples patients once and recomputes both models' metric on that resample, so the interval is that of the difference
/// (much narrower than two separate intervals when the models err on the same patients).
/// </summary>
public static class PairedComparison
{
    /// <summary>The stream the bootstrap draws from: <c>new Rng(seed).Fork(Stream)</c>.</summary>
    public const ulong Stream = 0xD1FF;

    /// <summary>Macro-F1(a) − macro-F1(b) with its 95 % patient-bootstrap interval.</summary>
    /// <param name="truth">True classes of the pairs.</param>
    /// <param name="predictedA">Model a's predictions.</param>
    /// <param name="predictedB">Model b's predictions (same pairs).</param>
    /// <param name="patients">The patient of every pair.</param>
    /// <param name="resamples">Bootstrap replicates (≥ 1).</param>
    /// <param name="seed">Seed of the bootstrap.</param>
    /// <returns>The difference and its interval.</returns>
    /// <exception cref="ArgumentException">The arrays differ in length or are empty.</exception>
    public static MetricInterval MacroF1(IReadOnlyList<int> truth, IReadOnlyList<int> predictedA, IReadOnlyList<int> predictedB, IReadOnlyList<int> patients, int resamples, ulong seed)
    {
        Check(truth.Count, predictedA.Count, predictedB.Count, patients.Count);
        int[] t = truth.ToArray(), a = predictedA.ToArray(), b = predictedB.ToArray();
        double Metric(int[] idx)
        {
            var tt = new int[idx.Length]; var x = new int[idx.Length]; var y = new int[idx.Length];
            for (int i = 0; i < idx.Length; i++) { tt[i] = t[idx[i]]; x[i] = a[idx[i]]; y[i] = b[idx[i]]; }
            return Classification.MacroF1(tt, x, 3) - Classification.MacroF1(tt, y, 3);
        }
        return Bootstrap.ConfidenceInterval(patients.ToArray(), Metric, resamples, 0.95, new Rng(seed).Fork(Stream));
    }

    /// <summary>Spearman(distanceA, gap) − Spearman(distanceB, gap) with its 95 % patient-bootstrap interval.</summary>
    /// <param name="gaps">|Δscore| of the pairs.</param>
    /// <param name="distancesA">Model a's embedding distance of each pair.</param>
    /// <param name="distancesB">Model b's (same pairs).</param>
    /// <param name="patients">The patient of every pair.</param>
    /// <param name="resamples">Bootstrap replicates (≥ 1).</param>
    /// <param name="seed">Seed of the bootstrap.</param>
    /// <returns>The difference and its interval.</returns>
    /// <exception cref="ArgumentException">The arrays differ in length or are empty.</exception>
    public static MetricInterval Spearman(IReadOnlyList<double> gaps, IReadOnlyList<double> distancesA, IReadOnlyList<double> distancesB, IReadOnlyList<int> patients, int resamples, ulong seed)
    {
        Check(gaps.Count, distancesA.Count, distancesB.Count, patients.Count);
        double[] g = gaps.ToArray(), a = distancesA.ToArray(), b = distancesB.ToArray();
        double Metric(int[] idx)
        {
            var gg = new double[idx.Length]; var x = new double[idx.Length]; var y = new double[idx.Length];
            for (int i = 0; i < idx.Length; i++) { gg[i] = g[idx[i]]; x[i] = a[idx[i]]; y[i] = b[idx[i]]; }
            return Correlations.Spearman(x, gg) - Correlations.Spearman(y, gg);
        }
        return Bootstrap.ConfidenceInterval(patients.ToArray(), Metric, resamples, 0.95, new Rng(seed).Fork(Stream + 1));
    }

    private static void Check(int n, int a, int b, int patients)
    {
        if (n == 0) throw new ArgumentException("A paired comparison needs at least one pair.", nameof(n));
        if (a != n || b != n || patients != n)
            throw new ArgumentException($"A paired comparison needs equal lengths; got {n}, {a}, {b} and {patients} patients.", nameof(n));
    }
}
