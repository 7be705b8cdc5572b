using System.Globalization;
using CsvHelper;
using CsvHelper.Configuration;
using Learner.Data.Formats;

namespace Learner.Data;

/// <summary>Column names and choices for reading and writing a manifest CSV.</summary>
/// <remarks>
/// Which column feeds what:
/// <list type="bullet">
/// <item><see cref="ScoreColumn"/> (<c>score</c>) → <see cref="Scan.Score"/>, the <em>pretraining target</em>: objectives
/// that use scores, score-scaled defaults (margins, gaps), inter-patient pair and triplet gaps.</item>
/// <item><see cref="LabelColumn"/> (<c>label</c>) → <see cref="Scan.CoarseLabel"/>, the coarse label: label objectives
/// and the same-label positive rule.</item>
/// <item><see cref="ExactScoreColumn"/> (<c>exact_score</c>) → <see cref="Scan.ExactScore"/>, used only for the change
/// labels of evaluation; where the column is absent or a cell is empty, change labels fall back to <c>score</c>.</item>
/// </list>
/// Every one of the three is optional: a manifest with <c>label</c> and <c>exact_score</c> but no <c>score</c> column
/// reads fine (label-only pretraining judged on exact change).
/// </remarks>
public sealed record ManifestOptions
{
    /// <summary>Column of the scan identifier (required). Default <c>scan_id</c>.</summary>
    public string ScanIdColumn { get; init; } = "scan_id";

    /// <summary>Column of the patient identifier (required). Default <c>patient_id</c>.</summary>
    public string PatientIdColumn { get; init; } = "patient_id";

    /// <summary>Column of the acquisition time or visit index (required, a number). Default <c>time</c>.</summary>
    public string TimeColumn { get; init; } = "time";

    /// <summary>Column of the continuous health score that is the pretraining target, <see cref="Scan.Score"/> (optional;
    /// empty cells are missing, <c>NaN</c> is kept and rejected where a score is needed — <see cref="Scan.HasScore"/> is
    /// false for it and <see cref="Scan.RequireScore"/> raises <see cref="MissingScoreException"/> — and an infinite or
    /// overflowing value such as <c>inf</c> or <c>1e400</c> fails the read with a <see cref="ManifestFormatException"/>);
    /// it also feeds change labels for rows without an exact score. Default <c>score</c>.</summary>
    public string ScoreColumn { get; init; } = "score";

    /// <summary>Column of the exact health score, <see cref="Scan.ExactScore"/>, from which the change labels of
    /// evaluation are derived (optional; same value rules as <see cref="ScoreColumn"/>: empty cells are missing and fall
    /// back to the score, <c>NaN</c> is kept and rejected where a change label is needed, an infinite or overflowing value
    /// fails the read). Written only when some scan
    /// has an exact score. Default <c>exact_score</c>.</summary>
    public string ExactScoreColumn { get; init; } = "exact_score";

    /// <summary>Column of the coarse ordinal label (optional; a non-negative integer or empty). Default <c>label</c>.</summary>
    public string LabelColumn { get; init; } = "label";

    /// <summary>Column of the payload path, relative to the manifest's folder or absolute (optional). Default <c>path</c>.</summary>
    public string PayloadColumn { get; init; } = "path";

    /// <summary>Whether a higher score means healthier (true for S/F ratio and MMSE). Default true.</summary>
    public bool HigherIsHealthier { get; init; } = true;

    /// <summary>Whether reading checks that every payload file exists (a missing one names the file and line). Default true.</summary>
    public bool RequirePayloadFiles { get; init; } = true;

    /// <summary>The field delimiter. Default a comma.</summary>
    public string Delimiter { get; init; } = ",";

    /// <summary>Options handed to every <see cref="FilePayload"/>; null for defaults.</summary>
    public PayloadReadOptions? PayloadOptions { get; init; }
}

/// <summary>
/// Reads and writes the manifest CSV that describes a longitudinal dataset: one row per scan with scan id, patient id,
/// time, optional score (pretraining target), optional coarse label, optional exact score (change labels) and optional
/// payload path (relative to the manifest). Column names are configurable (<see cref="ManifestOptions"/>, which also says
/// which column feeds what); extra columns are ignored.
/// </summary>
public static class Manifest
{
    /// <summary>Reads a time cell: a finite number (a visit index, days, …) or an ISO 8601 date or date-time, read as
    /// fractional days since 1970-01-01 UTC (a date without an offset is taken as UTC), so dates order visits and their
    /// differences are days.</summary>
    /// <param name="text">The cell.</param>
    /// <param name="time">The time.</param>
    /// <returns>Whether the cell is a number or a date.</returns>
    public static bool TryParseTime(string text, out double time)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out time)) return double.IsFinite(time);
        if (text.Length >= 10 && char.IsAsciiDigit(text[0]) && text[4] == '-'
            && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var date))
        {
            time = (date - DateTimeOffset.UnixEpoch).TotalDays;
            return true;
        }
        time = double.NaN;
        return false;
    }

    /// <summary>A hint when a header read as one column holds another common delimiter (a file exported with ';' or tabs).</summary>
    private static string DelimiterHint(string[] header, string delimiter)
    {
        if (header.Length != 1) return "";
        foreach (var (c, shown, name) in new[] { (";", ";", "semicolon"), ("\t", @"\t", "tab"), (",", ",", "comma"), ("|", "|", "pipe") })
        {
            if (c != delimiter && header[0].Contains(c, StringComparison.Ordinal))
                return $" The header reads as one column but contains '{shown}': the file looks {name}-delimited; read it with ManifestOptions.Delimiter = \"{shown}\" (learner: --delimiter '{shown}').";
        }
        return "";
    }

    /// <summary>Reads a manifest into a dataset whose scans load their payloads lazily.</summary>
    /// <param name="path">The CSV file.</param>
    /// <param name="options">Column names and choices; null for defaults.</param>
    /// <returns>The dataset.</returns>
    /// <exception cref="FileNotFoundException">The manifest does not exist.</exception>
    /// <exception cref="ManifestFormatException">A row has the wrong number of columns, a required column is missing, a
    /// column the reader uses occurs twice in the header (the message names it and both positions), a value does not
    /// parse, or a score is infinite or overflows a double, such as <c>1e400</c> (the message names the line, column and
    /// value).</exception>
    /// <exception cref="DuplicateScanIdException">Two rows share a scan id (the message names both lines).</exception>
    /// <exception cref="PayloadNotFoundException">A payload file is missing (with <see cref="ManifestOptions.RequirePayloadFiles"/>).</exception>
    public static LongitudinalDataset Read(string path, ManifestOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        options ??= new ManifestOptions();
        if (!File.Exists(path)) throw new FileNotFoundException($"Manifest '{path}' does not exist.", path);
        string folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        var config = new CsvConfiguration(CultureInfo.InvariantCulture)
        {
            Delimiter = options.Delimiter,
            HasHeaderRecord = true,
            BadDataFound = null,
            DetectColumnCountChanges = false,
            IgnoreBlankLines = true,
            TrimOptions = TrimOptions.Trim,
        };
        using var reader = new StreamReader(path);
        using var parser = new CsvParser(reader, config);
        var scans = new List<Scan>();
        var firstLine = new Dictionary<string, int>(StringComparer.Ordinal);
        try
        {
            if (!parser.Read()) throw new ManifestFormatException(path, 0, "the manifest is empty (no header row).");
            var header = parser.Record!;
            int Col(string name, bool required)
            {
                int i = Array.FindIndex(header, h => string.Equals(h, name, StringComparison.Ordinal));
                if (i < 0 && required)
                    throw new ManifestFormatException(path, parser.RawRow, $"required column '{name}' is missing (columns: {string.Join(", ", header)}).{DelimiterHint(header, options.Delimiter)}");
                if (i >= 0 && Array.FindIndex(header, i + 1, h => string.Equals(h, name, StringComparison.Ordinal)) is var j and >= 0)
                    throw new ManifestFormatException(path, parser.RawRow,
                        $"column '{name}' occurs twice in the header, at positions {i + 1} and {j + 1} (1-based); which one to read is ambiguous, so rename or drop one.");
                return i;
            }
            int cScan = Col(options.ScanIdColumn, true), cPatient = Col(options.PatientIdColumn, true), cTime = Col(options.TimeColumn, true);
            int cScore = Col(options.ScoreColumn, false), cLabel = Col(options.LabelColumn, false), cPath = Col(options.PayloadColumn, false);
            int cExact = Col(options.ExactScoreColumn, false);

            while (parser.Read())
            {
                var row = parser.Record!;
                int line = parser.RawRow;
                if (row.Length != header.Length)
                    throw new ManifestFormatException(path, line, $"row has {row.Length} columns, the header has {header.Length}.");
                string scanId = row[cScan], patientId = row[cPatient];
                if (scanId.Length == 0) throw new ManifestFormatException(path, line, $"empty '{options.ScanIdColumn}'.");
                if (patientId.Length == 0) throw new ManifestFormatException(path, line, $"empty '{options.PatientIdColumn}' for scan '{scanId}'.");
                if (firstLine.TryGetValue(scanId, out int prev)) throw new DuplicateScanIdException(scanId, $"{path} lines {prev} and {line}");
                firstLine[scanId] = line;

                if (!TryParseTime(row[cTime], out double time))
                    throw new ManifestFormatException(path, line, $"'{options.TimeColumn}' value '{row[cTime]}' of scan '{scanId}' is neither a finite number nor an ISO 8601 date (2024-03-01 or 2024-03-01T08:30:00Z).");
                double? score = ParseScore(path, line, row, cScore, options.ScoreColumn, scanId);
                double? exactScore = ParseScore(path, line, row, cExact, options.ExactScoreColumn, scanId);
                int? label = null;
                if (cLabel >= 0 && row[cLabel].Length > 0)
                {
                    if (!int.TryParse(row[cLabel], NumberStyles.Integer, CultureInfo.InvariantCulture, out int l) || l < 0)
                        throw new ManifestFormatException(path, line, $"'{options.LabelColumn}' value '{row[cLabel]}' of scan '{scanId}' is not a non-negative integer.");
                    label = l;
                }
                IScanPayload? payload = null;
                if (cPath >= 0 && row[cPath].Length > 0)
                {
                    string file;
                    try { file = Path.GetFullPath(Path.Combine(folder, row[cPath])); }
                    catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
                    {
                        throw new ManifestFormatException(path, line, $"'{options.PayloadColumn}' value '{row[cPath]}' of scan '{scanId}' is not a valid path.");
                    }
                    if (options.RequirePayloadFiles && !File.Exists(file))
                        throw new PayloadNotFoundException(file, $"{path} line {line}, scan '{scanId}'");
                    payload = new FilePayload(file, options.PayloadOptions) { ScanId = scanId, ManifestPath = path, ManifestLine = line };
                }
                scans.Add(new Scan(scanId, patientId, time, score, label, payload, exactScore));
            }
        }
        catch (CsvHelperException e)
        {
            throw new ManifestFormatException(path, parser.RawRow, "malformed CSV: " + e.Message.Split('\n')[0]);
        }
        return new LongitudinalDataset(scans, options.HigherIsHealthier);
    }

    /// <summary>The score in column <paramref name="column"/> of a row: null when the column is absent or the cell empty.</summary>
    private static double? ParseScore(string path, int line, string[] row, int column, string name, string scanId)
    {
        if (column < 0 || row[column].Length == 0) return null;
        if (!double.TryParse(row[column], NumberStyles.Float, CultureInfo.InvariantCulture, out double s))
            throw new ManifestFormatException(path, line, $"'{name}' value '{row[column]}' of scan '{scanId}' is not a number.");
        // .NET parses an out-of-range literal such as 1e400 as ±infinity: that is never a usable score, and silently
        // turning it into one would make every downstream statistic infinite. NaN stays (documented as "missing, rejected
        // where a score is needed").
        if (double.IsInfinity(s))
            throw new ManifestFormatException(path, line,
                $"'{name}' value '{row[column]}' (column {column + 1}) of scan '{scanId}' is {(IsInfinityLiteral(row[column]) ? "infinite" : "outside the range of a double (it would become " + (s > 0 ? "+" : "-") + "infinity)")}; scores must be finite (leave the cell empty or write NaN for a missing score).");
        return s;
    }

    private static bool IsInfinityLiteral(string text)
    {
        var t = text.TrimStart('+', '-');
        return t.Equals("Infinity", StringComparison.OrdinalIgnoreCase) || t.Equals("inf", StringComparison.OrdinalIgnoreCase) || t == "∞";
    }

    /// <summary>Writes a dataset as a manifest CSV. Payload paths are written relative to the manifest's folder when
    /// they lie beneath it. The exact-score column is written (after the label) only when some scan has an exact score.</summary>
    /// <param name="path">The CSV file (overwritten).</param>
    /// <param name="dataset">The dataset.</param>
    /// <param name="payloadPath">The payload file of each scan (absolute or relative to the manifest), or null for none;
    /// null uses each <see cref="FilePayload"/>'s path.</param>
    /// <param name="options">Column names; null for defaults.</param>
    public static void Write(string path, LongitudinalDataset dataset, Func<Scan, string?>? payloadPath = null, ManifestOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(dataset);
        options ??= new ManifestOptions();
        payloadPath ??= s => (s.Payload as FilePayload)?.Path;
        string folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        var config = new CsvConfiguration(CultureInfo.InvariantCulture) { Delimiter = options.Delimiter };
        using var writer = new StreamWriter(path);
        using var csv = new CsvWriter(writer, config);
        bool exact = dataset.Scans.Any(s => s.ExactScore is not null);
        var headers = new List<string> { options.ScanIdColumn, options.PatientIdColumn, options.TimeColumn, options.ScoreColumn, options.LabelColumn };
        if (exact) headers.Add(options.ExactScoreColumn);
        headers.Add(options.PayloadColumn);
        foreach (var h in headers) csv.WriteField(h);
        csv.NextRecord();
        foreach (var s in dataset.Scans)
        {
            csv.WriteField(s.Id);
            csv.WriteField(s.PatientId);
            csv.WriteField(s.Time.ToString("R", CultureInfo.InvariantCulture));
            csv.WriteField(s.Score is { } v ? v.ToString("R", CultureInfo.InvariantCulture) : "");
            csv.WriteField(s.CoarseLabel is { } l ? l.ToString(CultureInfo.InvariantCulture) : "");
            if (exact) csv.WriteField(s.ExactScore is { } e ? e.ToString("R", CultureInfo.InvariantCulture) : "");
            string? p = payloadPath(s);
            if (p is not null && Path.IsPathRooted(p))
            {
                string rel = Path.GetRelativePath(folder, p);
                if (!rel.StartsWith("..", StringComparison.Ordinal) && !Path.IsPathRooted(rel)) p = rel;
            }
            csv.WriteField(p?.Replace('\\', '/') ?? "");
            csv.NextRecord();
        }
    }
}
