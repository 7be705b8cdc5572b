using System.Globalization;
using System.Text;
using CsvHelper;
using CsvHelper.Configuration;

namespace Learner.Reporting;

/// <summary>
/// A table of literal text cells that renders as a valid GitHub-flavoured markdown table (<see cref="ToMarkdown"/>) or
/// as RFC 4180 CSV (<see cref="ToCsv"/>). Cells are strings: format numbers first (invariant culture), e.g. with
/// <see cref="IntervalText"/>.
/// </summary>
/// <remarks>
/// Cells and headers are literal text. In markdown every <c>|</c> is written <c>\|</c> and every backslash <c>\\</c>
/// (so a backslash before a pipe cannot unescape it, and a backslash renders as itself), and line breaks (CR LF, CR or
/// LF) become <c>&lt;br&gt;</c>, which GitHub renders as a break inside the cell. Other markdown in a cell (emphasis,
/// code) is left as written.
/// </remarks>
public sealed class TextTable
{
    private readonly TextColumn[] _columns;
    private readonly List<string[]> _rows = new();

    /// <summary>Creates an empty table with the given columns.</summary>
    /// <param name="columns">The columns, at least one.</param>
    /// <exception cref="ArgumentException">No column, or a null column.</exception>
    public TextTable(IEnumerable<TextColumn> columns)
    {
        ArgumentNullException.ThrowIfNull(columns);
        _columns = columns.ToArray();
        if (_columns.Length == 0) throw new ArgumentException("A table needs at least one column.", nameof(columns));
        int nullAt = Array.IndexOf(_columns, null);
        if (nullAt >= 0) throw new ArgumentException($"Column {nullAt} is null.", nameof(columns));
    }

    /// <summary>Creates an empty table with the given columns.</summary>
    /// <param name="columns">The columns, at least one.</param>
    /// <exception cref="ArgumentException">No column, or a null column.</exception>
    public TextTable(params TextColumn[] columns) : this((IEnumerable<TextColumn>)columns) { }

    /// <summary>The columns, in order.</summary>
    public IReadOnlyList<TextColumn> Columns => _columns;

    /// <summary>The rows added so far; each has one cell per column.</summary>
    public IReadOnlyList<IReadOnlyList<string>> Rows => _rows;

    /// <summary>Appends a row.</summary>
    /// <param name="cells">One cell per column, literal text; a null cell is written empty.</param>
    /// <returns>This table, for chaining.</returns>
    /// <exception cref="ArgumentException">The number of cells differs from the number of columns (the message names the row and both counts).</exception>
    public TextTable AddRow(params string?[] cells) => AddRow((IEnumerable<string?>)cells);

    /// <summary>Appends a row.</summary>
    /// <param name="cells">One cell per column, literal text; a null cell is written empty.</param>
    /// <returns>This table, for chaining.</returns>
    /// <exception cref="ArgumentException">The number of cells differs from the number of columns (the message names the row and both counts).</exception>
    public TextTable AddRow(IEnumerable<string?> cells)
    {
        ArgumentNullException.ThrowIfNull(cells);
        var row = cells.Select(c => c ?? "").ToArray();
        if (row.Length != _columns.Length)
            throw new ArgumentException($"Row {_rows.Count} has {row.Length} cells, but the table has {_columns.Length} columns ({string.Join(", ", _columns.Select(c => "'" + c.Header + "'"))}).", nameof(cells));
        _rows.Add(row);
        return this;
    }

    /// <summary>The table as GitHub-flavoured markdown: a header row, the alignment row (<c>---</c> left, <c>---:</c>
    /// right) and one line per row, each line <c>| cell | … |</c> ending in <c>\n</c>. Every line has exactly
    /// <c>columns + 1</c> unescaped pipes, whatever the cells hold.</summary>
    /// <returns>The markdown text.</returns>
    public string ToMarkdown()
    {
        var sb = new StringBuilder();
        AppendLine(sb, _columns.Select(c => EscapeMarkdown(c.Header)));
        AppendLine(sb, _columns.Select(c => c.Alignment == ColumnAlignment.Right ? "---:" : "---"));
        foreach (var row in _rows) AppendLine(sb, row.Select(EscapeMarkdown));
        return sb.ToString();
    }

    /// <summary>The table as RFC 4180 CSV: the header record then one record per row, fields separated by commas,
    /// records ended by CR LF; a field holding a comma, a double quote, CR or LF is enclosed in double quotes with its
    /// quotes doubled; nothing else is quoted or altered (no trimming, invariant culture).</summary>
    /// <returns>The CSV text.</returns>
    public string ToCsv()
    {
        var config = new CsvConfiguration(CultureInfo.InvariantCulture)
        {
            Delimiter = ",",
            NewLine = "\r\n",
            ShouldQuote = args => NeedsQuotes(args.Field),
        };
        using var text = new StringWriter(CultureInfo.InvariantCulture);
        using (var csv = new CsvWriter(text, config))
        {
            foreach (var c in _columns) csv.WriteField(c.Header);
            csv.NextRecord();
            foreach (var row in _rows)
            {
                foreach (var cell in row) csv.WriteField(cell);
                csv.NextRecord();
            }
        }
        return text.ToString();
    }

    /// <summary>Escapes literal text for a markdown table cell: <c>\</c> → <c>\\</c>, <c>|</c> → <c>\|</c>, and each
    /// line break (CR LF, CR or LF) → <c>&lt;br&gt;</c>.</summary>
    /// <param name="text">The literal text.</param>
    /// <returns>The cell text.</returns>
    public static string EscapeMarkdown(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var sb = new StringBuilder(text.Length + 8);
        for (int i = 0; i < text.Length; i++)
        {
            char ch = text[i];
            switch (ch)
            {
                case '\\': sb.Append(@"\\"); break;
                case '|': sb.Append(@"\|"); break;
                case '\r':
                    if (i + 1 < text.Length && text[i + 1] == '\n') i++;
                    sb.Append("<br>");
                    break;
                case '\n': sb.Append("<br>"); break;
                default: sb.Append(ch); break;
            }
        }
        return sb.ToString();
    }

    private static bool NeedsQuotes(string? field) => field is not null && field.AsSpan().IndexOfAny(",\"\r\n") >= 0;

    private static void AppendLine(StringBuilder sb, IEnumerable<string> cells)
    {
        sb.Append('|');
        foreach (var c in cells) sb.Append(' ').Append(c).Append(" |");
        sb.Append('\n');
    }
}
