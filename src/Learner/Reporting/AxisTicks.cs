namespace Learner.Reporting;

/// <summary>"Nice" axis ticks: steps of 1, 2 or 5 × 10^k covering a range.</summary>
public static class AxisTicks
{
    /// <summary>Ticks covering [<paramref name="min"/>, <paramref name="max"/>], about <paramref name="target"/> of them.</summary>
    /// <param name="min">Lowest data value.</param>
    /// <param name="max">Highest data value.</param>
    /// <param name="target">Desired number of intervals (≥ 1).</param>
    /// <returns>The axis range (a tick multiple at or beyond the data) and the ticks, ascending. A degenerate or
    /// non-finite range gives a unit range around the value (or [0, 1]).</returns>
    public static (double Low, double High, double[] Ticks) Nice(double min, double max, int target = 5)
    {
        if (target < 1) throw new ArgumentOutOfRangeException(nameof(target), target, "At least one interval is needed.");
        if (!double.IsFinite(min) || !double.IsFinite(max)) (min, max) = (0, 1);
        if (min > max) (min, max) = (max, min);
        if (max - min < 1e-12 * Math.Max(1, Math.Abs(max)))
        {
            double pad = min == 0 ? 1 : Math.Abs(min) * 0.5;
            (min, max) = (min - pad, max + pad);
        }
        double step = NiceStep((max - min) / target);
        double low = Math.Floor(min / step) * step, high = Math.Ceiling(max / step) * step;
        int count = (int)Math.Round((high - low) / step) + 1;
        var ticks = new double[count];
        for (int i = 0; i < count; i++)
        {
            double t = low + i * step;
            ticks[i] = Math.Abs(t) < step * 1e-9 ? 0 : Math.Round(t, 12);
        }
        return (low, high, ticks);
    }

    /// <summary>The nearest of 1, 2, 5 × 10^k at or above <paramref name="raw"/>.</summary>
    /// <param name="raw">A positive step.</param>
    /// <returns>The nice step.</returns>
    public static double NiceStep(double raw)
    {
        if (!(raw > 0) || !double.IsFinite(raw)) return 1;
        double magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double f = raw / magnitude;
        double nice = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
        return nice * magnitude;
    }

    /// <summary>Formats one value compactly (invariant culture, at most 3 decimals, never scientific). For the labels of
    /// an axis use <see cref="Labels"/>, which gives every tick the decimals its spacing needs.</summary>
    /// <param name="value">The value.</param>
    /// <returns>The label.</returns>
    public static string Label(double value) => Fixed(value, 3);

    /// <summary>The labels of a set of ticks (as <see cref="Nice"/> gives them): plain decimals, never scientific, with as
    /// many decimals as the tick spacing needs and the same number on every tick, so that the labels are distinct
    /// (0, 0.0005, 0.001, 0.0015, 0.002 rather than 0, 5E-4, 0.001, 0.002, 0.002).</summary>
    /// <param name="ticks">Ascending ticks.</param>
    /// <returns>One label per tick.</returns>
    public static string[] Labels(IReadOnlyList<double> ticks)
    {
        ArgumentNullException.ThrowIfNull(ticks);
        double step = double.PositiveInfinity;
        for (int i = 1; i < ticks.Count; i++)
            if (ticks[i] - ticks[i - 1] is var d and > 0) step = Math.Min(step, d);
        int decimals = double.IsFinite(step) ? Math.Clamp((int)Math.Ceiling(-Math.Log10(step) - 1e-9), 0, 15) : 3;
        // A spacing such as 0.25 or 2.5 × 10^k needs one decimal more than its magnitude; add decimals until labels differ.
        while (true)
        {
            var labels = ticks.Select(t => t == 0 ? "0" : Fixed(t, decimals, trimZeros: false)).ToArray();
            if (labels.Distinct(StringComparer.Ordinal).Count() == labels.Length || decimals >= 15) return labels;
            decimals++;
        }
    }

    private static string Fixed(double value, int decimals, bool trimZeros = true)
    {
        if (value == 0) value = 0; // no "-0"
        string format = decimals == 0 ? "0" : trimZeros ? "0." + new string('#', decimals) : "0." + new string('0', decimals);
        string text = value.ToString(format, System.Globalization.CultureInfo.InvariantCulture);
        return text == "-0" || (text.StartsWith("-0", StringComparison.Ordinal) && text.Trim('-', '0', '.').Length == 0) ? text.TrimStart('-') : text;
    }
}
