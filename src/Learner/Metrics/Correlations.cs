using MathNet.Numerics.Statistics;

namespace Learner.Metrics;

/// <summary>
/// Correlation coefficients as scipy 1.10 defines them (<c>pearsonr</c>, <c>spearmanr</c>, <c>kendalltau</c> with
/// its default tau-b).
/// </summary>
/// <remarks>
/// Degenerate cases return NaN, as scipy does: fewer than two observations (scipy raises for Pearson) and a
/// constant input (scipy warns and returns NaN). Inputs must be finite and of equal length, otherwise
/// <see cref="ArgumentException"/> names the argument, the index and the value.
/// </remarks>
public static class Correlations
{
    /// <summary>Pearson's product-moment correlation (computed by MathNet.Numerics).</summary>
    /// <param name="x">First variable.</param>
    /// <param name="y">Second variable (same length).</param>
    /// <returns>The coefficient in [−1, 1], or NaN for n &lt; 2 or a constant input.</returns>
    /// <exception cref="ArgumentException">Lengths differ or a value is not finite.</exception>
    public static double Pearson(ReadOnlySpan<double> x, ReadOnlySpan<double> y)
    {
        if (Degenerate(x, y)) return double.NaN;
        return Math.Clamp(Correlation.Pearson(x.ToArray(), y.ToArray()), -1.0, 1.0);
    }

    /// <summary>Spearman's rank correlation: Pearson's correlation of the average ranks (ties share their mean rank); computed by MathNet.Numerics.</summary>
    /// <param name="x">First variable.</param>
    /// <param name="y">Second variable (same length).</param>
    /// <returns>The coefficient in [−1, 1], or NaN for n &lt; 2 or a constant input.</returns>
    /// <exception cref="ArgumentException">Lengths differ or a value is not finite.</exception>
    public static double Spearman(ReadOnlySpan<double> x, ReadOnlySpan<double> y)
    {
        if (Degenerate(x, y)) return double.NaN;
        return Math.Clamp(Correlation.Spearman(x.ToArray(), y.ToArray()), -1.0, 1.0);
    }

    /// <summary>
    /// Kendall's tau-b, <c>(C − D) / √((n₀ − n₁)(n₀ − n₂))</c> with concordant pairs <c>C</c>, discordant pairs
    /// <c>D</c>, <c>n₀ = n(n−1)/2</c> and <c>n₁</c>, <c>n₂</c> the pairs tied in x and in y. O(n log n) (Knight's
    /// algorithm: sort by x then y, count the inversions of y with a merge sort).
    /// </summary>
    /// <param name="x">First variable.</param>
    /// <param name="y">Second variable (same length).</param>
    /// <returns>The coefficient in [−1, 1], or NaN for n &lt; 2 or a constant input.</returns>
    /// <exception cref="ArgumentException">Lengths differ or a value is not finite.</exception>
    public static double KendallTauB(ReadOnlySpan<double> x, ReadOnlySpan<double> y)
    {
        if (Degenerate(x, y)) return double.NaN;
        int n = x.Length;
        var order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        var xs = x.ToArray();
        var ys = y.ToArray();
        Array.Sort(order, (a, b) =>
        {
            int c = xs[a].CompareTo(xs[b]);
            return c != 0 ? c : ys[a].CompareTo(ys[b]);
        });

        long xTies = 0, jointTies = 0;
        for (int start = 0; start < n;)
        {
            int end = start + 1;
            while (end < n && xs[order[end]] == xs[order[start]]) end++;
            xTies += Pairs(end - start);
            for (int s = start; s < end;)
            {
                int e = s + 1;
                while (e < end && ys[order[e]] == ys[order[s]]) e++;
                jointTies += Pairs(e - s);
                s = e;
            }
            start = end;
        }

        var seq = new double[n];
        for (int i = 0; i < n; i++) seq[i] = ys[order[i]];
        long discordant = CountInversions(seq, new double[n], 0, n);

        long yTies = 0;
        for (int start = 0; start < n;)
        {
            int end = start + 1;
            while (end < n && seq[end] == seq[start]) end++;
            yTies += Pairs(end - start);
            start = end;
        }

        long total = Pairs(n);
        if (xTies == total || yTies == total) return double.NaN;
        double concordantMinusDiscordant = (double)(total - xTies - yTies + jointTies) - 2.0 * discordant;
        double tau = concordantMinusDiscordant / Math.Sqrt(total - xTies) / Math.Sqrt(total - yTies);
        return Math.Clamp(tau, -1.0, 1.0);
    }

    private static long Pairs(long count) => count * (count - 1) / 2;

    /// <summary>Sorts <paramref name="a"/>[lo, hi) ascending and returns the number of strictly inverted pairs.</summary>
    private static long CountInversions(double[] a, double[] scratch, int lo, int hi)
    {
        if (hi - lo < 2) return 0;
        int mid = (lo + hi) >>> 1;
        long count = CountInversions(a, scratch, lo, mid) + CountInversions(a, scratch, mid, hi);
        int i = lo, j = mid, k = lo;
        while (i < mid && j < hi)
        {
            if (a[j] < a[i]) { count += mid - i; scratch[k++] = a[j++]; }
            else scratch[k++] = a[i++];
        }
        while (i < mid) scratch[k++] = a[i++];
        while (j < hi) scratch[k++] = a[j++];
        Array.Copy(scratch, lo, a, lo, hi - lo);
        return count;
    }

    private static bool Degenerate(ReadOnlySpan<double> x, ReadOnlySpan<double> y)
    {
        MetricInput.SameLength(x.Length, y.Length, nameof(x), nameof(y));
        MetricInput.Finite(x, nameof(x));
        MetricInput.Finite(y, nameof(y));
        return x.Length < 2 || IsConstant(x) || IsConstant(y);
    }

    private static bool IsConstant(ReadOnlySpan<double> v)
    {
        for (int i = 1; i < v.Length; i++) if (v[i] != v[0]) return false;
        return true;
    }
}
