using System.Globalization;
using Learner.Metrics;

namespace Learner.Reporting;

/// <summary>
/// Invariant-culture text for metric estimates and their intervals, for <see cref="TextTable"/> cells.
/// </summary>
/// <remarks>A NaN (an undefined metric, e.g. κ of a single class, or bounds when every bootstrap replicate was NaN) is
/// written <c>NaN</c>, never an empty string: an empty cell reads as "not computed" or as a missing column, and
/// <c>NaN</c> parses back with <see cref="double.Parse(string, IFormatProvider)"/> and with pandas / numpy. Infinities
/// are written <c>Infinity</c> / <c>-Infinity</c>.</remarks>
public static class IntervalText
{
    /// <summary>Default number format of <see cref="Format(MetricInterval, string)"/>: three decimals.</summary>
    public const string DefaultFormat = "F3";

    /// <summary>One number, <c>NaN</c> for NaN.</summary>
    /// <param name="value">The value.</param>
    /// <param name="format">A .NET numeric format (e.g. <c>F3</c>, <c>G6</c>, <c>R</c>).</param>
    /// <returns>The text.</returns>
    public static string Number(double value, string format = DefaultFormat)
    {
        ArgumentNullException.ThrowIfNull(format);
        return double.IsNaN(value) ? "NaN" : value.ToString(format, CultureInfo.InvariantCulture);
    }

    /// <summary>"estimate [lower, upper]", e.g. <c>0.812 [0.701, 0.900]</c>; each NaN part is written <c>NaN</c>
    /// (<c>NaN [NaN, NaN]</c>).</summary>
    /// <param name="interval">The estimate and its interval.</param>
    /// <param name="format">A .NET numeric format for all three numbers.</param>
    /// <returns>The text.</returns>
    public static string Format(MetricInterval interval, string format = DefaultFormat) =>
        $"{Number(interval.Estimate, format)} [{Number(interval.Lower, format)}, {Number(interval.Upper, format)}]";

    /// <summary>Estimate, lower and upper bound as three cells (for CSV columns <c>x</c>, <c>x_lo</c>, <c>x_hi</c>),
    /// round-trippable by default.</summary>
    /// <param name="interval">The estimate and its interval.</param>
    /// <param name="format">A .NET numeric format; default <c>R</c> (round-trip).</param>
    /// <returns>A new array of three cells.</returns>
    public static string[] Cells(MetricInterval interval, string format = "R") =>
        [Number(interval.Estimate, format), Number(interval.Lower, format), Number(interval.Upper, format)];
}
