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

    /// <summary>Formats a tick label compactly (invariant culture).</summary>
    /// <param name="value">The tick.</param>
    /// <returns>The label.</returns>
    public static string Label(double value)
    {
        double a = Math.Abs(value);
        if (a != 0 && (a >= 1e5 || a < 1e-3)) return value.ToString("0.#E+0", System.Globalization.CultureInfo.InvariantCulture);
        return value.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture);
    }
}
