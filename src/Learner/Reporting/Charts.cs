using System.Globalization;

namespace Learner.Reporting;

/// <summary>A named series of a line chart: y values at x = 0, 1, 2, … scaled by <see cref="XStep"/>.</summary>
/// <param name="Name">Legend text.</param>
/// <param name="Values">The y values (non-finite values leave a gap).</param>
/// <param name="XStep">The x distance between consecutive values (e.g. steps per point after downsampling).</param>
public sealed record ChartSeries(string Name, IReadOnlyList<double> Values, double XStep = 1);

/// <summary>An estimate with its interval, for <see cref="Charts.IntervalBars"/>.</summary>
/// <param name="Name">Bar label.</param>
/// <param name="Estimate">Bar height.</param>
/// <param name="Lower">Lower end of the error bar.</param>
/// <param name="Upper">Upper end of the error bar.</param>
public sealed record ChartInterval(string Name, double Estimate, double Lower, double Upper);

/// <summary>
/// The report's charts as standalone SVG strings: line charts, scatter plots with a least-squares line, confusion
/// matrices and bar charts with error bars. Empty or all-NaN input gives a chart that says "no data".
/// </summary>
public static class Charts
{
    /// <summary>The palette (colour-blind-safe, Okabe–Ito).</summary>
    public static IReadOnlyList<string> Palette { get; } = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"];

    private const double Left = 56, Right = 16, Top = 30, Bottom = 42;

    /// <summary>A line chart with a legend.</summary>
    /// <param name="title">Title.</param>
    /// <param name="xLabel">X-axis label.</param>
    /// <param name="yLabel">Y-axis label.</param>
    /// <param name="series">The series.</param>
    /// <param name="width">Width in pixels.</param>
    /// <param name="height">Height in pixels.</param>
    /// <returns>The SVG.</returns>
    public static string Line(string title, string xLabel, string yLabel, IReadOnlyList<ChartSeries> series, double width = 460, double height = 280)
    {
        ArgumentNullException.ThrowIfNull(series);
        var svg = new SvgWriter(width, height, title);
        var ys = series.SelectMany(s => s.Values).Where(double.IsFinite).ToArray();
        double xMax = series.Select(s => (s.Values.Count - 1) * s.XStep).DefaultIfEmpty(0).Max();
        if (ys.Length == 0) return NoData(svg, title);
        var frame = Frame(svg, title, xLabel, yLabel, 0, Math.Max(xMax, 1), ys.Min(), ys.Max());
        for (int k = 0; k < series.Count; k++)
        {
            var s = series[k];
            svg.Polyline(s.Values.Select((v, i) => (frame.X(i * s.XStep), double.IsFinite(v) ? frame.Y(v) : double.NaN)), Palette[k % Palette.Count]);
        }
        Legend(svg, series.Select(s => s.Name).ToList(), width);
        return svg.ToString();
    }

    /// <summary>A scatter plot with its least-squares line; at most <paramref name="maxPoints"/> points are drawn (an even
    /// subsample, so large sets stay light), all are used for the line.</summary>
    /// <param name="title">Title (e.g. with the correlation).</param>
    /// <param name="xLabel">X-axis label.</param>
    /// <param name="yLabel">Y-axis label.</param>
    /// <param name="x">X values.</param>
    /// <param name="y">Y values (same length).</param>
    /// <param name="maxPoints">Most points drawn (≥ 1).</param>
    /// <param name="width">Width in pixels.</param>
    /// <param name="height">Height in pixels.</param>
    /// <returns>The SVG.</returns>
    public static string Scatter(string title, string xLabel, string yLabel, IReadOnlyList<double> x, IReadOnlyList<double> y, int maxPoints = 1500, double width = 360, double height = 300)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        if (x.Count != y.Count) throw new ArgumentException($"Scatter needs as many x as y values, got {x.Count} and {y.Count}.", nameof(y));
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPoints, 1);
        var svg = new SvgWriter(width, height, title);
        var idx = Enumerable.Range(0, x.Count).Where(i => double.IsFinite(x[i]) && double.IsFinite(y[i])).ToArray();
        if (idx.Length == 0) return NoData(svg, title);
        var frame = Frame(svg, title, xLabel, yLabel, idx.Min(i => x[i]), idx.Max(i => x[i]), idx.Min(i => y[i]), idx.Max(i => y[i]));
        double stride = Math.Max(1, (double)idx.Length / maxPoints);
        for (double p = 0; p < idx.Length; p += stride)
        {
            int i = idx[(int)p];
            svg.Circle(frame.X(x[i]), frame.Y(y[i]), 2.2, Palette[0], 0.35);
        }
        double mx = idx.Average(i => x[i]), my = idx.Average(i => y[i]);
        double sxx = idx.Sum(i => (x[i] - mx) * (x[i] - mx)), sxy = idx.Sum(i => (x[i] - mx) * (y[i] - my));
        if (sxx > 0)
        {
            double slope = sxy / sxx, x0 = frame.XLow, x1 = frame.XHigh;
            double y0 = Math.Clamp(my + slope * (x0 - mx), frame.YLow, frame.YHigh), y1 = Math.Clamp(my + slope * (x1 - mx), frame.YLow, frame.YHigh);
            // Clip the line to the plot: recompute x where y was clamped.
            double cx0 = slope != 0 ? mx + (y0 - my) / slope : x0, cx1 = slope != 0 ? mx + (y1 - my) / slope : x1;
            svg.Line(frame.X(cx0), frame.Y(y0), frame.X(cx1), frame.Y(y1), Palette[3], 2);
        }
        return svg.ToString();
    }

    /// <summary>A confusion matrix as a heat map with counts (rows: truth, columns: prediction).</summary>
    /// <param name="title">Title.</param>
    /// <param name="matrix">Counts, classes × classes.</param>
    /// <param name="labels">Class names (as many as rows).</param>
    /// <param name="size">Width and height in pixels.</param>
    /// <returns>The SVG.</returns>
    public static string Confusion(string title, int[,] matrix, IReadOnlyList<string> labels, double size = 300)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        ArgumentNullException.ThrowIfNull(labels);
        int k = matrix.GetLength(0);
        if (matrix.GetLength(1) != k || labels.Count != k)
            throw new ArgumentException($"A confusion matrix needs a square matrix and one label per class, got {matrix.GetLength(0)}×{matrix.GetLength(1)} and {labels.Count} labels.", nameof(matrix));
        var lines = ChartTitle.Wrap(title, size - 16);
        double extra = Math.Max(0, lines.Count - 1) * ChartTitle.LineHeight;
        var svg = new SvgWriter(size, size + extra, title);
        ChartTitle.Draw(svg, title, 16);
        if (k == 0) return NoData(svg, null);
        double left = 70, top = 56 + extra, cell = (size - left - 14) / k;
        int max = 0;
        for (int i = 0; i < k; i++) for (int j = 0; j < k; j++) max = Math.Max(max, matrix[i, j]);
        for (int i = 0; i < k; i++)
        {
            int rowTotal = 0;
            for (int j = 0; j < k; j++) rowTotal += matrix[i, j];
            for (int j = 0; j < k; j++)
            {
                double t = max > 0 ? (double)matrix[i, j] / max : 0;
                string fill = Blend(t);
                double share = rowTotal > 0 ? 100.0 * matrix[i, j] / rowTotal : 0;
                svg.Rect(left + j * cell, top + i * cell, cell - 2, cell - 2, fill, null,
                    string.Create(CultureInfo.InvariantCulture, $"true {labels[i]}, predicted {labels[j]}: {matrix[i, j]} ({share:F1} % of the row)"));
                svg.Text(left + (j + 0.5) * cell, top + (i + 0.5) * cell + 4, matrix[i, j].ToString(CultureInfo.InvariantCulture), "middle", 12, t > 0.55 ? "#fff" : "#222", "600");
            }
            svg.Text(left - 6, top + (i + 0.5) * cell + 4, labels[i], "end", 11);
        }
        for (int j = 0; j < k; j++) svg.Text(left + (j + 0.5) * cell, top - 6, labels[j], "middle", 11);
        svg.Text(12, top + k * cell / 2, "true", "middle", 11, "#555", rotate: -90);
        svg.Text(left + k * cell / 2, 34 + extra, "predicted", "middle", 11, "#555");
        return svg.ToString();
    }

    /// <summary>A bar chart of estimates with interval error bars.</summary>
    /// <param name="title">Title.</param>
    /// <param name="yLabel">Y-axis label.</param>
    /// <param name="bars">The bars.</param>
    /// <param name="width">Width in pixels.</param>
    /// <param name="height">Height in pixels.</param>
    /// <returns>The SVG.</returns>
    public static string IntervalBars(string title, string yLabel, IReadOnlyList<ChartInterval> bars, double width = 460, double height = 300)
    {
        ArgumentNullException.ThrowIfNull(bars);
        var svg = new SvgWriter(width, height, title);
        var values = bars.SelectMany(b => new[] { b.Estimate, b.Lower, b.Upper }).Where(double.IsFinite).Append(0).ToArray();
        if (bars.Count == 0 || !bars.Any(b => double.IsFinite(b.Estimate))) return NoData(svg, title);
        double bottom = 92;
        var frame = Frame(svg, title, "", yLabel, 0, bars.Count, values.Min(), values.Max(), bottom, xTicks: false);
        double slot = (frame.Right - frame.Left) / bars.Count;
        for (int i = 0; i < bars.Count; i++)
        {
            var b = bars[i];
            double cx = frame.Left + (i + 0.5) * slot, w = slot * 0.6;
            if (double.IsFinite(b.Estimate))
            {
                double y0 = frame.Y(0), y1 = frame.Y(b.Estimate);
                svg.Rect(cx - w / 2, Math.Min(y0, y1), w, Math.Abs(y1 - y0), Palette[i % Palette.Count], null,
                    string.Create(CultureInfo.InvariantCulture, $"{b.Name}: {b.Estimate:F3} [{b.Lower:F3}, {b.Upper:F3}]"));
            }
            if (double.IsFinite(b.Lower) && double.IsFinite(b.Upper))
            {
                svg.Line(cx, frame.Y(b.Lower), cx, frame.Y(b.Upper), "#222", 1.5);
                svg.Line(cx - w / 5, frame.Y(b.Lower), cx + w / 5, frame.Y(b.Lower), "#222", 1.5);
                svg.Line(cx - w / 5, frame.Y(b.Upper), cx + w / 5, frame.Y(b.Upper), "#222", 1.5);
            }
            // The label runs down-left at 35°: shorten it (the bar's tooltip keeps the whole name) to stay inside the drawing.
            double room = Math.Min(cx / Math.Cos(35 * Math.PI / 180), (bottom - 18) / Math.Sin(35 * Math.PI / 180));
            svg.Text(cx, height - bottom + 14, ChartTitle.Shorten(b.Name, room, 10), "end", 10, rotate: -35);
        }
        return svg.ToString();
    }

    private static string NoData(SvgWriter svg, string? title)
    {
        double extra = title is null ? 0 : ChartTitle.Draw(svg, title);
        svg.Rect(Left, Top + extra, svg.Width - Left - Right, svg.Height - Top - extra - Bottom, "#f6f6f6", "#ddd");
        svg.Text(svg.Width / 2, svg.Height / 2, "no data", "middle", 13, "#888");
        return svg.ToString();
    }

    private static string Blend(double t)
    {
        // White to the palette's blue.
        int r = (int)Math.Round(255 + (0x00 - 255) * t), g = (int)Math.Round(255 + (0x72 - 255) * t), b = (int)Math.Round(255 + (0xB2 - 255) * t);
        return $"#{r:X2}{g:X2}{b:X2}";
    }

    private static void Legend(SvgWriter svg, IReadOnlyList<string> names, double width)
    {
        double x = Left + 8, y = Top + 12;
        for (int k = 0; k < names.Count; k++)
        {
            svg.Line(x, y - 4, x + 16, y - 4, Palette[k % Palette.Count], 2.5);
            svg.Text(x + 20, y, names[k], size: 10);
            x += 28 + 6.2 * names[k].Length;
            if (x > width - 80 && k < names.Count - 1) { x = Left + 8; y += 14; }
        }
    }

    private sealed record PlotFrame(double Left, double Right, double Top, double Bottom, double XLow, double XHigh, double YLow, double YHigh)
    {
        public double X(double v) => Left + (v - XLow) / (XHigh - XLow) * (Right - Left);

        public double Y(double v) => Bottom - (v - YLow) / (YHigh - YLow) * (Bottom - Top);
    }

    private static PlotFrame Frame(SvgWriter svg, string title, string xLabel, string yLabel, double xMin, double xMax, double yMin, double yMax,
        double bottomMargin = Bottom, bool xTicks = true)
    {
        var (xl, xh, xt) = AxisTicks.Nice(xMin, xMax, 5);
        var (yl, yh, yt) = AxisTicks.Nice(yMin, yMax, 5);
        double extra = ChartTitle.Draw(svg, title);
        var f = new PlotFrame(Left, svg.Width - Right, Top + extra, svg.Height - bottomMargin, xTicks ? xl : xMin, xTicks ? xh : xMax, yl, yh);
        var yLabels = AxisTicks.Labels(yt);
        for (int i = 0; i < yt.Length; i++)
        {
            svg.Line(f.Left, f.Y(yt[i]), f.Right, f.Y(yt[i]), "#e6e6e6");
            svg.Text(f.Left - 5, f.Y(yt[i]) + 3.5, yLabels[i], "end", 10, "#555");
        }
        if (xTicks)
        {
            var xLabels = AxisTicks.Labels(xt);
            for (int i = 0; i < xt.Length; i++)
            {
                svg.Line(f.X(xt[i]), f.Bottom, f.X(xt[i]), f.Bottom + 4, "#888");
                svg.Text(f.X(xt[i]), f.Bottom + 15, xLabels[i], "middle", 10, "#555");
            }
        }
        svg.Line(f.Left, f.Bottom, f.Right, f.Bottom, "#888");
        svg.Line(f.Left, f.Top, f.Left, f.Bottom, "#888");
        if (xLabel.Length > 0) svg.Text((f.Left + f.Right) / 2, svg.Height - 8, xLabel, "middle", 11, "#333");
        if (yLabel.Length > 0) svg.Text(14, (f.Top + f.Bottom) / 2, yLabel, "middle", 11, "#333", rotate: -90);
        return f;
    }
}
