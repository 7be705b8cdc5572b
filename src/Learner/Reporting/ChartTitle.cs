namespace Learner.Reporting;

/// <summary>
/// Fits a chart title into its drawing: the text width is estimated from the characters (an SVG has no text metrics
/// before it is rendered), and a title wider than the drawing is wrapped at spaces (after ':' or ',' by preference)
/// onto as many lines as needed, each within the width, so that no browser clips it at either side.
/// </summary>
public static class ChartTitle
{
    /// <summary>Vertical distance between title lines, in pixels, at the charts' 12 px title size.</summary>
    public const double LineHeight = 15;

    /// <summary>The estimated width of <paramref name="text"/> in a sans-serif font of <paramref name="fontSize"/> pixels
    /// (semibold): narrow letters (i, l, punctuation) count less than wide ones (m, w, capitals), so the estimate errs wide.</summary>
    /// <param name="text">The text.</param>
    /// <param name="fontSize">Font size in pixels.</param>
    /// <returns>The width in pixels.</returns>
    public static double EstimateWidth(string text, double fontSize)
    {
        ArgumentNullException.ThrowIfNull(text);
        double em = 0;
        foreach (char c in text)
            em += c switch
            {
                'i' or 'l' or 'j' or 'I' or '.' or ',' or ':' or ';' or '\'' or '|' or '!' => 0.30,
                ' ' or 'f' or 't' or 'r' or '(' or ')' or '[' or ']' or '-' => 0.38,
                'm' or 'w' or 'M' or 'W' => 0.92,
                >= 'A' and <= 'Z' => 0.70,
                >= '0' and <= '9' => 0.60,
                _ => 0.60,
            };
        return em * fontSize;
    }

    /// <summary>Splits <paramref name="title"/> into lines that each fit <paramref name="width"/> pixels at
    /// <paramref name="fontSize"/>. Breaks at spaces; a single word wider than the width is cut with a hyphen-free hard break.</summary>
    /// <param name="title">The title.</param>
    /// <param name="width">The available width in pixels (&gt; 0).</param>
    /// <param name="fontSize">Font size in pixels (&gt; 0).</param>
    /// <returns>The lines (one when the title fits; none for an empty title).</returns>
    public static IReadOnlyList<string> Wrap(string title, double width, double fontSize = 12)
    {
        ArgumentNullException.ThrowIfNull(title);
        if (!(width > 0) || !(fontSize > 0)) throw new ArgumentOutOfRangeException(nameof(width), $"Wrap needs a positive width and font size, got {width} and {fontSize}.");
        var lines = new List<string>();
        string rest = title.Trim();
        while (rest.Length > 0)
        {
            if (EstimateWidth(rest, fontSize) <= width) { lines.Add(rest); break; }
            // The longest prefix that fits, ending at a space; prefer a break after ':' or ',' when one fits.
            int fit = 1;
            while (fit < rest.Length && EstimateWidth(rest[..(fit + 1)], fontSize) <= width) fit++;
            int space = rest.LastIndexOf(' ', Math.Min(fit, rest.Length - 1));
            int punct = space > 0 ? rest.LastIndexOfAny([':', ','], space - 1) : -1;
            int cut = punct > 0 && punct + 1 < rest.Length && rest[punct + 1] == ' ' && punct + 1 >= fit / 2 ? punct + 1 : space > 0 ? space : fit;
            lines.Add(rest[..cut].TrimEnd());
            rest = rest[cut..].TrimStart();
        }
        return lines;
    }

    /// <summary>Shortens <paramref name="text"/> to fit <paramref name="width"/> pixels by replacing its middle with "…"
    /// (the start and the end of an objective spec say the most); unchanged when it fits.</summary>
    /// <param name="text">The text.</param>
    /// <param name="width">The available width in pixels.</param>
    /// <param name="fontSize">Font size in pixels.</param>
    /// <returns>The text or its shortened form.</returns>
    public static string Shorten(string text, double width, double fontSize)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (EstimateWidth(text, fontSize) <= width) return text;
        for (int keep = text.Length - 1; keep > 1; keep--)
        {
            int head = (keep + 1) / 2, tail = keep - head;
            string s = text[..head] + "…" + text[^tail..];
            if (EstimateWidth(s, fontSize) <= width) return s;
        }
        return "…";
    }

    /// <summary>Draws the title centred at the top of <paramref name="svg"/> (first baseline at <paramref name="baseline"/>),
    /// wrapped to the drawing's width less a margin.</summary>
    /// <param name="svg">The drawing.</param>
    /// <param name="title">The title.</param>
    /// <param name="baseline">The first line's baseline.</param>
    /// <param name="fontSize">Font size.</param>
    /// <returns>The extra height the wrapped lines take beyond one line (0 when the title fits on one).</returns>
    internal static double Draw(SvgWriter svg, string title, double baseline = 18, double fontSize = 12)
    {
        var lines = Wrap(title, svg.Width - 16, fontSize);
        for (int i = 0; i < lines.Count; i++) svg.Text(svg.Width / 2, baseline + i * LineHeight, lines[i], "middle", fontSize, weight: "600");
        return Math.Max(0, lines.Count - 1) * LineHeight;
    }
}
