using System.Globalization;
using Learner.Nn;

namespace Learner.Metrics;

/// <summary>
/// Patient-level bootstrap: percentile confidence intervals for any metric of a set of items (scans, scan pairs)
/// that belong to patients, resampling whole patients so that a patient's correlated items stay together.
/// </summary>
public static class Bootstrap
{
    /// <summary>The default number of resamples.</summary>
    public const int DefaultResamples = 1000;

    /// <summary>The default confidence level.</summary>
    public const double DefaultLevel = 0.95;

    /// <summary>
    /// A percentile bootstrap interval. The estimate is <paramref name="metric"/> of all items. Each of the
    /// <paramref name="resamples"/> replicates draws as many patients as there are, uniformly with replacement from
    /// the distinct patients (taken in increasing id order, so the draw depends only on the seed and the ids), and
    /// evaluates <paramref name="metric"/> on the item indices of every drawn patient (a patient drawn twice
    /// contributes its items twice; items keep their order within a patient). The bounds are the
    /// <c>(1 − level)/2</c> and <c>(1 + level)/2</c> quantiles of the replicates with linear interpolation (numpy's
    /// default percentile).
    /// </summary>
    /// <remarks>
    /// Replicates for which the metric is NaN (for example an AUC when a resample lacks a class) are left out of the
    /// quantiles and not counted in <see cref="MetricInterval.ValidResamples"/>; when every replicate is NaN, both
    /// bounds are NaN. The metric receives a fresh array each call and may keep it.
    /// </remarks>
    /// <param name="patientIds">The patient of each item (length <c>N</c>, at least one item).</param>
    /// <param name="metric">The metric of a multiset of item indices in <c>0 … N−1</c>.</param>
    /// <param name="resamples">Number of bootstrap replicates, at least 1.</param>
    /// <param name="level">Confidence level in (0, 1), e.g. 0.95.</param>
    /// <param name="rng">The random stream (advanced by the draws).</param>
    /// <returns>The estimate and the interval.</returns>
    /// <exception cref="ArgumentException">No items, a non-positive resample count, or a level outside (0, 1).</exception>
    /// <exception cref="ArgumentNullException">The metric or the random stream is null.</exception>
    public static MetricInterval ConfidenceInterval(ReadOnlySpan<int> patientIds, Func<int[], double> metric, int resamples, double level, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(metric);
        ArgumentNullException.ThrowIfNull(rng);
        if (patientIds.IsEmpty) throw new ArgumentException("A bootstrap needs at least one item; 'patientIds' is empty.", nameof(patientIds));
        if (resamples < 1) throw new ArgumentOutOfRangeException(nameof(resamples), resamples, "At least one bootstrap resample is needed.");
        if (!(level > 0 && level < 1)) throw new ArgumentOutOfRangeException(nameof(level), level, "The confidence level must lie strictly between 0 and 1.");

        var groups = GroupByPatient(patientIds);
        int n = patientIds.Length;
        var all = new int[n];
        for (int i = 0; i < n; i++) all[i] = i;
        double estimate = metric(all);

        var replicates = new double[resamples];
        int valid = 0;
        var drawn = new int[groups.Length];
        for (int b = 0; b < resamples; b++)
        {
            int size = 0;
            for (int p = 0; p < groups.Length; p++)
            {
                drawn[p] = rng.NextInt(groups.Length);
                size += groups[drawn[p]].Length;
            }
            var items = new int[size];
            int at = 0;
            foreach (int p in drawn)
            {
                groups[p].CopyTo(items, at);
                at += groups[p].Length;
            }
            double value = metric(items);
            if (!double.IsNaN(value)) replicates[valid++] = value;
        }
        if (valid == 0) return new MetricInterval(estimate, double.NaN, double.NaN) { Level = level, ValidResamples = 0 };
        var sorted = replicates.AsSpan(0, valid);
        sorted.Sort();
        double tail = (1 - level) / 2;
        return new MetricInterval(estimate, Quantile(sorted, tail), Quantile(sorted, 1 - tail)) { Level = level, ValidResamples = valid };
    }

    /// <summary>A 95 % interval from <see cref="DefaultResamples"/> resamples.</summary>
    /// <param name="patientIds">The patient of each item.</param>
    /// <param name="metric">The metric of a multiset of item indices.</param>
    /// <param name="rng">The random stream.</param>
    /// <returns>The estimate and the interval.</returns>
    /// <exception cref="ArgumentException">No items.</exception>
    /// <exception cref="ArgumentNullException">The metric or the random stream is null.</exception>
    public static MetricInterval ConfidenceInterval(ReadOnlySpan<int> patientIds, Func<int[], double> metric, Rng rng)
        => ConfidenceInterval(patientIds, metric, DefaultResamples, DefaultLevel, rng);

    /// <summary>The item indices of each distinct patient, patients in increasing id order.</summary>
    private static int[][] GroupByPatient(ReadOnlySpan<int> patientIds)
    {
        var byPatient = new SortedDictionary<int, List<int>>();
        for (int i = 0; i < patientIds.Length; i++)
        {
            if (!byPatient.TryGetValue(patientIds[i], out var list)) byPatient[patientIds[i]] = list = [];
            list.Add(i);
        }
        return byPatient.Values.Select(l => l.ToArray()).ToArray();
    }

    /// <summary>The <paramref name="q"/>-quantile (q in [0, 1]) of sorted values, linear interpolation (numpy's default).</summary>
    internal static double Quantile(ReadOnlySpan<double> sorted, double q)
    {
        double position = q * (sorted.Length - 1);
        int i = (int)Math.Floor(position);
        if (i >= sorted.Length - 1) return sorted[^1];
        double fraction = position - i;
        return sorted[i] + fraction * (sorted[i + 1] - sorted[i]);
    }
}

/// <summary>A point estimate with a bootstrap confidence interval.</summary>
/// <param name="Estimate">The metric on all items.</param>
/// <param name="Lower">Lower bound (NaN when every replicate was NaN).</param>
/// <param name="Upper">Upper bound (NaN when every replicate was NaN).</param>
public readonly record struct MetricInterval(double Estimate, double Lower, double Upper)
{
    /// <summary>The confidence level of the interval.</summary>
    public double Level { get; init; }

    /// <summary>Replicates whose metric was not NaN (the quantiles come from these).</summary>
    public int ValidResamples { get; init; }

    /// <summary>"estimate [lower, upper]" with four decimals.</summary>
    /// <returns>The interval, invariant culture.</returns>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Estimate:0.0000} [{Lower:0.0000}, {Upper:0.0000}]");
}
