using System.Globalization;
using System.Net;
using System.Text;

namespace Learner.Reporting;

/// <summary>
/// A tiny SVG builder: elements with attributes written in invariant culture and every text escaped, so the output is
/// well-formed XML whatever the data or the names. Used by the report's charts; no external assets.
/// </summary>
public sealed class SvgWriter
{
    private readonly StringBuilder _sb = new();
    private readonly double _width;
    private readonly double _height;

    /// <summary>Starts a drawing of the given size (in CSS pixels).</summary>
    /// <param name="width">Width (&gt; 0).</param>
    /// <param name="height">Height (&gt; 0).</param>
    /// <param name="title">Accessible title (escaped), or null.</param>
    public SvgWriter(double width, double height, string? title = null)
    {
        if (!(width > 0) || !(height > 0)) throw new ArgumentOutOfRangeException(nameof(width), $"An SVG needs a positive size, got {width}×{height}.");
        _width = width;
        _height = height;
        _sb.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{N(width)}\" height=\"{N(height)}\" viewBox=\"0 0 {N(width)} {N(height)}\" font-family=\"system-ui, -apple-system, 'Segoe UI', sans-serif\" font-size=\"11\">");
        if (title is not null) _sb.Append("<title>").Append(Escape(title)).Append("</title>");
    }

    /// <summary>Width of the drawing.</summary>
    public double Width => _width;

    /// <summary>Height of the drawing.</summary>
    public double Height => _height;

    /// <summary>Formats a coordinate: invariant culture, at most two decimals; a non-finite value becomes 0 so that the
    /// SVG stays valid.</summary>
    /// <param name="value">The number.</param>
    /// <returns>The text.</returns>
    public static string N(double value) => double.IsFinite(value) ? Math.Round(value, 2).ToString("0.##", CultureInfo.InvariantCulture) : "0";

    /// <summary>Escapes text for XML content and attribute values; characters XML forbids become U+FFFD.</summary>
    /// <param name="text">The text.</param>
    /// <returns>The escaped text.</returns>
    public static string Escape(string text)
    {
        text ??= string.Empty;
        // Characters XML 1.0 forbids (control characters, lone surrogates) become U+FFFD, so the page stays well-formed.
        if (!text.Any(c => c < 0x20 && c is not ('\t' or '\n' or '\r') || char.IsSurrogate(c) || c is '\uFFFE' or '\uFFFF'))
            return WebUtility.HtmlEncode(text);
        var sb = new StringBuilder(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) { sb.Append(c).Append(text[++i]); continue; }
            bool bad = c < 0x20 && c is not ('\t' or '\n' or '\r') || char.IsSurrogate(c) || c is '\uFFFE' or '\uFFFF';
            sb.Append(bad ? '\uFFFD' : c);
        }
        return WebUtility.HtmlEncode(sb.ToString());
    }

    /// <summary>A line segment.</summary>
    /// <param name="x1">Start x.</param>
    /// <param name="y1">Start y.</param>
    /// <param name="x2">End x.</param>
    /// <param name="y2">End y.</param>
    /// <param name="stroke">Stroke colour.</param>
    /// <param name="width">Stroke width.</param>
    /// <param name="dash">Dash pattern, or null.</param>
    /// <returns>This writer.</returns>
    public SvgWriter Line(double x1, double y1, double x2, double y2, string stroke, double width = 1, string? dash = null)
    {
        _sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"{N(x1)}\" y1=\"{N(y1)}\" x2=\"{N(x2)}\" y2=\"{N(y2)}\" stroke=\"{Escape(stroke)}\" stroke-width=\"{N(width)}\"");
        if (dash is not null) _sb.Append(" stroke-dasharray=\"").Append(Escape(dash)).Append('"');
        _sb.Append("/>");
        return this;
    }

    /// <summary>A rectangle.</summary>
    /// <param name="x">Left.</param>
    /// <param name="y">Top.</param>
    /// <param name="width">Width.</param>
    /// <param name="height">Height.</param>
    /// <param name="fill">Fill colour.</param>
    /// <param name="stroke">Stroke colour, or null.</param>
    /// <param name="tooltip">Tooltip text (escaped), or null.</param>
    /// <returns>This writer.</returns>
    public SvgWriter Rect(double x, double y, double width, double height, string fill, string? stroke = null, string? tooltip = null)
    {
        _sb.Append(CultureInfo.InvariantCulture, $"<rect x=\"{N(x)}\" y=\"{N(y)}\" width=\"{N(Math.Max(0, width))}\" height=\"{N(Math.Max(0, height))}\" fill=\"{Escape(fill)}\"");
        if (stroke is not null) _sb.Append(" stroke=\"").Append(Escape(stroke)).Append('"');
        return CloseWithTooltip("rect", tooltip);
    }

    /// <summary>A circle.</summary>
    /// <param name="cx">Centre x.</param>
    /// <param name="cy">Centre y.</param>
    /// <param name="r">Radius.</param>
    /// <param name="fill">Fill colour.</param>
    /// <param name="opacity">Fill opacity in [0, 1].</param>
    /// <returns>This writer.</returns>
    public SvgWriter Circle(double cx, double cy, double r, string fill, double opacity = 1)
    {
        _sb.Append(CultureInfo.InvariantCulture, $"<circle cx=\"{N(cx)}\" cy=\"{N(cy)}\" r=\"{N(r)}\" fill=\"{Escape(fill)}\" fill-opacity=\"{N(opacity)}\"/>");
        return this;
    }

    /// <summary>A polyline through the finite points (a gap where a point is not finite).</summary>
    /// <param name="points">The points in drawing coordinates.</param>
    /// <param name="stroke">Stroke colour.</param>
    /// <param name="width">Stroke width.</param>
    /// <returns>This writer.</returns>
    public SvgWriter Polyline(IEnumerable<(double X, double Y)> points, string stroke, double width = 1.5)
    {
        var run = new List<(double X, double Y)>();
        void Flush()
        {
            if (run.Count > 1)
            {
                _sb.Append("<polyline fill=\"none\" stroke=\"").Append(Escape(stroke)).Append("\" stroke-width=\"").Append(N(width)).Append("\" stroke-linejoin=\"round\" points=\"");
                for (int i = 0; i < run.Count; i++) _sb.Append(i == 0 ? "" : " ").Append(N(run[i].X)).Append(',').Append(N(run[i].Y));
                _sb.Append("\"/>");
            }
            run.Clear();
        }
        foreach (var p in points)
        {
            if (double.IsFinite(p.X) && double.IsFinite(p.Y)) run.Add(p);
            else Flush();
        }
        Flush();
        return this;
    }

    /// <summary>Text (escaped).</summary>
    /// <param name="x">Anchor x.</param>
    /// <param name="y">Baseline y.</param>
    /// <param name="text">The text.</param>
    /// <param name="anchor">start, middle or end.</param>
    /// <param name="size">Font size.</param>
    /// <param name="fill">Colour.</param>
    /// <param name="weight">Font weight (normal, bold, 600…).</param>
    /// <param name="rotate">Rotation in degrees about the anchor.</param>
    /// <returns>This writer.</returns>
    public SvgWriter Text(double x, double y, string text, string anchor = "start", double size = 11, string fill = "#222", string weight = "normal", double rotate = 0)
    {
        _sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{N(x)}\" y=\"{N(y)}\" text-anchor=\"{Escape(anchor)}\" font-size=\"{N(size)}\" fill=\"{Escape(fill)}\" font-weight=\"{Escape(weight)}\"");
        if (rotate != 0) _sb.Append(CultureInfo.InvariantCulture, $" transform=\"rotate({N(rotate)} {N(x)} {N(y)})\"");
        _sb.Append('>').Append(Escape(text)).Append("</text>");
        return this;
    }

    private SvgWriter CloseWithTooltip(string element, string? tooltip)
    {
        if (tooltip is null) _sb.Append("/>");
        else _sb.Append("><title>").Append(Escape(tooltip)).Append("</title></").Append(element).Append('>');
        return this;
    }

    /// <summary>Closes the drawing and returns the SVG markup.</summary>
    /// <returns>The SVG.</returns>
    public override string ToString() => _sb.ToString() + "</svg>";
}
