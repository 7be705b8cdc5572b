using System.Globalization;
using CsvHelper;
using CsvHelper.Configuration;
using Learner.Metrics;
using Learner.Reporting;

namespace Learner.Tests.Reporting;

public class TextTableTests
{
    /// <summary>Pipes not escaped by a backslash (a pipe preceded by an even number of backslashes is a cell delimiter).</summary>
    private static int UnescapedPipes(string line)
    {
        int count = 0;
        for (int i = 0; i < line.Length; i++)
        {
            if (line[i] != '|') continue;
            int backslashes = 0;
            for (int j = i - 1; j >= 0 && line[j] == '\\'; j--) backslashes++;
            if (backslashes % 2 == 0) count++;
        }
        return count;
    }

    private static TextTable Sample() => new TextTable(
            TextColumn.Left("objective"), TextColumn.Right("seed"), TextColumn.Left("Spearman(dist, |Δscore|)"), TextColumn.Right(@"path\"))
        .AddRow("a|b", "1", "0.5 [0.4, 0.6]", @"C:\data\|x")
        .AddRow("two\r\nlines\nand\rmore", "22", "", null)
        .AddRow(@"\|", "3", "||", @"\");

    [Fact]
    public void Markdown_escapes_pipes_in_cells_and_headers_so_every_line_has_columns_plus_one_delimiters()
    {
        string md = Sample().ToMarkdown();
        var lines = md.Split('\n');
        lines[^1].Should().BeEmpty("the text ends with a newline");
        lines = lines[..^1];
        lines.Should().HaveCount(2 + 3, "header, alignment row and three rows; no cell newline leaks into the text");
        lines.Should().OnlyContain(l => UnescapedPipes(l) == 4 + 1 && l.StartsWith("| ") && l.EndsWith(" |"));
        lines[0].Should().Be(@"| objective | seed | Spearman(dist, \|Δscore\|) | path\\ |");
        lines[1].Should().Be("| --- | ---: | --- | ---: |");
        lines[2].Should().Be(@"| a\|b | 1 | 0.5 [0.4, 0.6] | C:\\data\\\|x |");
        lines[3].Should().Be("| two<br>lines<br>and<br>more | 22 |  |  |");
        lines[4].Should().Be(@"| \\\| | 3 | \|\| | \\ |");
    }

    [Fact]
    public void Escape_markdown_is_literal_for_backslashes_pipes_and_line_breaks()
    {
        TextTable.EscapeMarkdown("plain *text*").Should().Be("plain *text*");
        TextTable.EscapeMarkdown("|").Should().Be(@"\|");
        TextTable.EscapeMarkdown(@"\").Should().Be(@"\\");
        TextTable.EscapeMarkdown("a\r\n\r\nb").Should().Be("a<br><br>b");
        TextTable.EscapeMarkdown("").Should().BeEmpty();
    }

    [Fact]
    public void Csv_quotes_what_rfc_4180_requires_and_round_trips_through_csvhelper()
    {
        var table = new TextTable(TextColumn.Left("name, with comma"), TextColumn.Right("say \"hi\""), TextColumn.Left("plain"))
            .AddRow("a,b", "he said \"x\"", " padded ")
            .AddRow("line1\r\nline2", "cr\ronly", "lf\nonly")
            .AddRow("", "|pipe|", "1.5");
        string csv = table.ToCsv();
        csv.Should().StartWith("\"name, with comma\",\"say \"\"hi\"\"\",plain\r\n");
        csv.Should().Contain("\r\n\"a,b\",\"he said \"\"x\"\"\", padded \r\n", "only fields with a comma, quote, CR or LF are quoted");
        csv.Should().EndWith(",|pipe|,1.5\r\n");

        using var reader = new CsvReader(new StringReader(csv), new CsvConfiguration(CultureInfo.InvariantCulture) { HasHeaderRecord = false, TrimOptions = TrimOptions.None });
        var records = new List<string[]>();
        while (reader.Read()) records.Add(Enumerable.Range(0, reader.Parser.Count).Select(i => reader.GetField(i)!).ToArray());
        records.Should().HaveCount(4);
        records[0].Should().Equal(table.Columns.Select(c => c.Header));
        for (int r = 0; r < 3; r++) records[r + 1].Should().Equal(table.Rows[r]);
    }

    [Fact]
    public void Rows_must_match_the_columns()
    {
        var table = new TextTable(TextColumn.Left("a"), TextColumn.Right("b"));
        table.AddRow("1", "2").Rows.Should().ContainSingle();
        FluentActions.Invoking(() => table.AddRow("only one")).Should().Throw<ArgumentException>()
            .WithMessage("Row 1 has 1 cells, but the table has 2 columns ('a', 'b').*");
        FluentActions.Invoking(() => new TextTable(Array.Empty<TextColumn>())).Should().Throw<ArgumentException>().WithMessage("A table needs at least one column.*");
        FluentActions.Invoking(() => new TextColumn("x", (ColumnAlignment)7)).Should().Throw<ArgumentOutOfRangeException>().WithMessage("*column 'x'*");
        table.Rows.Should().ContainSingle("a rejected row is not added");
    }

    [Fact]
    public void Intervals_format_as_estimate_and_bounds_with_nan_written_nan()
    {
        IntervalText.Format(new MetricInterval(0.8126, 0.7, 0.9)).Should().Be("0.813 [0.700, 0.900]");
        IntervalText.Format(new MetricInterval(-0.5, -1, 0), "F1").Should().Be("-0.5 [-1.0, 0.0]");
        IntervalText.Format(new MetricInterval(0.5, double.NaN, double.NaN)).Should().Be("0.500 [NaN, NaN]");
        IntervalText.Format(new MetricInterval(double.NaN, double.NaN, double.NaN)).Should().Be("NaN [NaN, NaN]");
        IntervalText.Cells(new MetricInterval(0.1, double.NaN, 0.30000000000000004)).Should().Equal("0.1", "NaN", "0.30000000000000004");
        IntervalText.Number(double.PositiveInfinity).Should().Be("Infinity");

        var prev = CultureInfo.CurrentCulture;
        try
        {
            var comma = (CultureInfo)CultureInfo.InvariantCulture.Clone();
            comma.NumberFormat.NumberDecimalSeparator = ",";
            CultureInfo.CurrentCulture = comma;
            IntervalText.Format(new MetricInterval(0.25, 0.125, 0.5)).Should().Be("0.250 [0.125, 0.500]");
        }
        finally { CultureInfo.CurrentCulture = prev; }

        // In a table, the interval's comma and brackets need no markdown escaping but do need CSV quoting.
        var t = new TextTable(TextColumn.Left("metric"), TextColumn.Right("value")).AddRow("κ", IntervalText.Format(new MetricInterval(0.5, 0.25, 0.75)));
        t.ToMarkdown().Should().EndWith("| κ | 0.500 [0.250, 0.750] |\n");
        t.ToCsv().Should().EndWith("κ,\"0.500 [0.250, 0.750]\"\r\n");
    }
}
