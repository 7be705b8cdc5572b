using System.Text.Json;
using System.Text.Json.Serialization;
using Learner.Metrics;

namespace Learner.Experiments;

/// <summary>
/// The one results format of an experiment (<c>results.json</c>), versioned by <see cref="Schema"/>: metadata (library
/// version, commit, command line, protocol, resolved settings, completeness) and one row per objective × seed with its
/// metrics (<c>{estimate, lower, upper}</c>, NaN as null), its outer folds (<c>folds[].pretrainPatients</c>,
/// <c>validationPatients</c>, <c>testPatients</c>, the trials and the chosen settings) and, optionally, the details the
/// report draws. <see cref="Read"/> accepts exactly what <see cref="Write"/> writes.
/// </summary>
public static class ExperimentResultsFile
{
    /// <summary>The schema identifier written in every file.</summary>
    public const string Schema = "learner-results/2";

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>Writes <paramref name="results"/> to <paramref name="path"/> atomically (temporary file, then rename).</summary>
    /// <param name="path">The file.</param>
    /// <param name="results">The results.</param>
    /// <param name="includeDetails">Whether to include each row's details (loss curve, predictions, alignment pairs).</param>
    public static void Write(string path, ExperimentResults results, bool includeDetails = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        string temp = full + ".tmp";
        File.WriteAllText(temp, Serialize(results, includeDetails));
        File.Move(temp, full, overwrite: true);
    }

    /// <summary>The JSON text of <paramref name="results"/>.</summary>
    /// <param name="results">The results.</param>
    /// <param name="includeDetails">Whether to include each row's details.</param>
    /// <returns>The JSON.</returns>
    public static string Serialize(ExperimentResults results, bool includeDetails)
    {
        ArgumentNullException.ThrowIfNull(results);
        var m = results.Metadata;
        var doc = new Doc
        {
            Schema = Schema, LibraryVersion = m.LibraryVersion, Commit = m.Commit, CommandLine = m.CommandLine, Protocol = m.Protocol, Dataset = m.Dataset,
            Started = m.Started, Complete = m.Complete, Settings = m.Settings.Select(kv => new SettingDto { Name = kv.Key, Value = kv.Value }).ToList(),
            Rows = results.Rows.Select(r => RowDto.From(r, includeDetails)).ToList(),
        };
        return JsonSerializer.Serialize(doc, Json);
    }

    /// <summary>Reads a results file written by <see cref="Write"/>.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The results.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not valid JSON, has another schema, or is inconsistent (named).</exception>
    public static ExperimentResults Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"The results file '{path}' does not exist.", path);
        var info = new FileInfo(path);
        if (info.Length > 1L << 30) throw new InvalidDataException($"'{path}' is {info.Length} bytes; a results file above 1 GiB is refused.");
        return Deserialize(File.ReadAllText(path), path);
    }

    /// <summary>Parses results JSON.</summary>
    /// <param name="json">The text.</param>
    /// <param name="source">Its name in error messages.</param>
    /// <returns>The results.</returns>
    /// <exception cref="InvalidDataException">The text is not a results document of this schema.</exception>
    public static ExperimentResults Deserialize(string json, string source = "results")
    {
        ArgumentNullException.ThrowIfNull(json);
        Doc doc;
        try { doc = JsonSerializer.Deserialize<Doc>(json, Json) ?? throw new InvalidDataException($"'{source}' is empty."); }
        catch (JsonException e) { throw new InvalidDataException($"'{source}' is not a results file written by Learner: {e.Message}", e); }
        if (doc.Schema != Schema)
            throw new InvalidDataException($"'{source}' has schema '{doc.Schema ?? "(none)"}', expected '{Schema}'{(doc.Schema is null ? " (files written before results were versioned cannot be read; run the experiment again)" : "")}.");
        var rows = new List<ExperimentRow>();
        for (int k = 0; k < (doc.Rows?.Count ?? 0); k++) rows.Add(doc.Rows![k].ToRow(source, k));
        return new ExperimentResults(rows)
        {
            Metadata = new ExperimentMetadata
            {
                LibraryVersion = doc.LibraryVersion ?? "unknown", Commit = doc.Commit, CommandLine = doc.CommandLine, Protocol = doc.Protocol ?? "held-out k-fold",
                Dataset = doc.Dataset, Started = doc.Started, Complete = doc.Complete,
                Settings = (doc.Settings ?? new()).Select(s => new KeyValuePair<string, string>(s.Name ?? "", s.Value ?? "")).ToArray(),
            },
        };
    }

    private static double? N(double v) => double.IsFinite(v) ? v : null;

    private static double D(double? v) => v ?? double.NaN;

    private sealed class Doc
    {
        public string? Schema { get; set; }
        public string? LibraryVersion { get; set; }
        public string? Commit { get; set; }
        public string? CommandLine { get; set; }
        public string? Protocol { get; set; }
        public string? Dataset { get; set; }
        public DateTimeOffset Started { get; set; }
        public bool Complete { get; set; } = true;
        public List<SettingDto>? Settings { get; set; }
        public List<RowDto>? Rows { get; set; }
    }

    private sealed class SettingDto
    {
        public string? Name { get; set; }
        public string? Value { get; set; }
    }

    private sealed class IntervalDto
    {
        public double? Estimate { get; set; }
        public double? Lower { get; set; }
        public double? Upper { get; set; }

        public static IntervalDto From(MetricInterval m) => new() { Estimate = N(m.Estimate), Lower = N(m.Lower), Upper = N(m.Upper) };

        public MetricInterval ToInterval() => new(D(Estimate), D(Lower), D(Upper)) { Level = 0.95 };
    }

    private sealed class TrialDto
    {
        public int Index { get; set; }
        public string? Settings { get; set; }
        public string? Metric { get; set; }
        public double? Score { get; set; }
        public double PretrainingSeconds { get; set; }
    }

    private sealed class FoldDto
    {
        public int Index { get; set; }
        public List<string>? PretrainPatients { get; set; }
        public List<string>? ValidationPatients { get; set; }
        public List<string>? TestPatients { get; set; }
        public List<TrialDto>? Trials { get; set; }
        public int? ChosenTrial { get; set; }
        public string? ChosenSettings { get; set; }
        public double PretrainingSeconds { get; set; }
        public double? FinalLoss { get; set; }
    }

    private sealed class DetailsDto
    {
        public List<double?>? Losses { get; set; }
        public List<double>? PairDistances { get; set; }
        public List<double>? PairGaps { get; set; }
        public int[][]? Confusion { get; set; }
        public List<int>? Truth { get; set; }
        public List<int>? Predicted { get; set; }
        public List<int>? PairPatients { get; set; }
    }

    private sealed class VisitDto
    {
        public int Pairs { get; set; }
        public IntervalDto? Accuracy { get; set; }
        public IntervalDto? MacroF1 { get; set; }
        public IntervalDto? QuadraticKappa { get; set; }
        public IntervalDto? Spearman { get; set; }
        public List<int>? Truth { get; set; }
        public List<int>? Predicted { get; set; }
        public List<int>? PairPatients { get; set; }
        public List<double>? Distances { get; set; }
        public List<double>? Gaps { get; set; }

        public static VisitDto From(VisitLevelResult v, bool details) => new()
        {
            Pairs = v.Pairs, Accuracy = IntervalDto.From(v.Accuracy), MacroF1 = IntervalDto.From(v.MacroF1), QuadraticKappa = IntervalDto.From(v.QuadraticKappa), Spearman = IntervalDto.From(v.Spearman),
            Truth = details ? v.Truth.ToList() : null, Predicted = details ? v.Predicted.ToList() : null, PairPatients = details ? v.PairPatients.ToList() : null,
            Distances = details ? v.Distances.ToList() : null, Gaps = details ? v.Gaps.ToList() : null,
        };

        public VisitLevelResult ToResult(string where)
        {
            if (Accuracy is null || MacroF1 is null || QuadraticKappa is null || Spearman is null)
                throw new InvalidDataException($"{where}: its visit level lacks one of accuracy, macroF1, quadraticKappa, spearman.");
            int n = Truth?.Count ?? 0;
            if ((Predicted?.Count ?? 0) != n || (PairPatients?.Count ?? 0) != n || (Distances?.Count ?? 0) != n || (Gaps?.Count ?? 0) != n)
                throw new InvalidDataException($"{where}: its visit level has {n} truths, {Predicted?.Count ?? 0} predictions, {PairPatients?.Count ?? 0} patients, {Distances?.Count ?? 0} distances and {Gaps?.Count ?? 0} gaps; they must be equal.");
            if (Truth is not null && Truth.Any(t => t is < 0 or > 2) || Predicted is not null && Predicted.Any(t => t is < 0 or > 2))
                throw new InvalidDataException($"{where}: visit-level change classes must be 0, 1 or 2.");
            return new VisitLevelResult(Pairs, Accuracy.ToInterval(), MacroF1.ToInterval(), QuadraticKappa.ToInterval(), Spearman.ToInterval())
            {
                Truth = Truth?.ToArray() ?? Array.Empty<int>(), Predicted = Predicted?.ToArray() ?? Array.Empty<int>(), PairPatients = PairPatients?.ToArray() ?? Array.Empty<int>(),
                Distances = Distances?.ToArray() ?? Array.Empty<double>(), Gaps = Gaps?.ToArray() ?? Array.Empty<double>(),
            };
        }
    }

    private sealed class ProbeDto
    {
        public int Scans { get; set; }
        public int Visits { get; set; }
        public IntervalDto? ClipR2 { get; set; }
        public IntervalDto? VisitR2 { get; set; }
        public List<double>? ClipScores { get; set; }
        public List<double>? ClipPredictions { get; set; }
        public List<int>? ClipPatients { get; set; }
        public List<double>? VisitScores { get; set; }
        public List<double>? VisitPredictions { get; set; }
        public List<int>? VisitPatients { get; set; }

        public static ProbeDto From(HealthScoreProbeResult p, bool details) => new()
        {
            Scans = p.Scans, Visits = p.Visits, ClipR2 = IntervalDto.From(p.ClipR2), VisitR2 = IntervalDto.From(p.VisitR2),
            ClipScores = details ? p.ClipScores.ToList() : null, ClipPredictions = details ? p.ClipPredictions.ToList() : null, ClipPatients = details ? p.ClipPatients.ToList() : null,
            VisitScores = details ? p.VisitScores.ToList() : null, VisitPredictions = details ? p.VisitPredictions.ToList() : null, VisitPatients = details ? p.VisitPatients.ToList() : null,
        };

        public HealthScoreProbeResult ToResult(string where)
        {
            if (ClipR2 is null || VisitR2 is null) throw new InvalidDataException($"{where}: its health-score probe lacks clipR2 or visitR2.");
            if (Scans < 0 || Visits < 0) throw new InvalidDataException($"{where}: its health-score probe counts {Scans} scans and {Visits} visits; counts cannot be negative.");
            static void Same(string where, string level, int a, int b, int c)
            {
                if (a != b || a != c) throw new InvalidDataException($"{where}: its health-score probe has {a} {level} scores, {b} predictions and {c} patients; they must be equal.");
            }
            Same(where, "clip", ClipScores?.Count ?? 0, ClipPredictions?.Count ?? 0, ClipPatients?.Count ?? 0);
            Same(where, "visit", VisitScores?.Count ?? 0, VisitPredictions?.Count ?? 0, VisitPatients?.Count ?? 0);
            return new HealthScoreProbeResult(Scans, Visits, ClipR2.ToInterval(), VisitR2.ToInterval())
            {
                ClipScores = ClipScores?.ToArray() ?? Array.Empty<double>(), ClipPredictions = ClipPredictions?.ToArray() ?? Array.Empty<double>(), ClipPatients = ClipPatients?.ToArray() ?? Array.Empty<int>(),
                VisitScores = VisitScores?.ToArray() ?? Array.Empty<double>(), VisitPredictions = VisitPredictions?.ToArray() ?? Array.Empty<double>(), VisitPatients = VisitPatients?.ToArray() ?? Array.Empty<int>(),
            };
        }
    }

    private sealed class RowDto
    {
        public VisitDto? Visit { get; set; }
        public ProbeDto? Probe { get; set; }

        public string? Objective { get; set; }
        public int Seed { get; set; }
        public string? Protocol { get; set; }
        public IntervalDto? Accuracy { get; set; }
        public IntervalDto? MacroF1 { get; set; }
        public IntervalDto? QuadraticKappa { get; set; }
        public IntervalDto? Spearman { get; set; }
        public double? BalancedAccuracy { get; set; }
        public double PretrainingSeconds { get; set; }
        public double? FinalLoss { get; set; }
        public List<string>? Warnings { get; set; }
        public List<FoldDto>? Folds { get; set; }
        public DetailsDto? Details { get; set; }

        public static RowDto From(ExperimentRow r, bool details) => new()
        {
            Objective = r.Objective, Seed = r.Seed, Protocol = r.Protocol, Accuracy = IntervalDto.From(r.Accuracy), MacroF1 = IntervalDto.From(r.MacroF1),
            QuadraticKappa = IntervalDto.From(r.QuadraticKappa), Spearman = IntervalDto.From(r.Spearman), BalancedAccuracy = N(r.BalancedAccuracy),
            PretrainingSeconds = r.PretrainingSeconds, FinalLoss = N(r.FinalLoss), Warnings = r.Warnings.ToList(), Visit = r.Visit is { } v ? VisitDto.From(v, details) : null,
            Probe = r.Probe is { } pr ? ProbeDto.From(pr, details) : null,
            Folds = r.Folds.Select(f => new FoldDto
            {
                Index = f.Index, PretrainPatients = f.PretrainPatients.ToList(), ValidationPatients = f.ValidationPatients.ToList(), TestPatients = f.TestPatients.ToList(),
                Trials = f.Trials.Select(t => new TrialDto { Index = t.Index, Settings = t.Settings, Metric = t.Metric, Score = N(t.Score), PretrainingSeconds = t.PretrainingSeconds }).ToList(),
                ChosenTrial = f.ChosenTrial, ChosenSettings = f.ChosenSettings, PretrainingSeconds = f.PretrainingSeconds, FinalLoss = N(f.FinalLoss),
            }).ToList(),
            Details = details && r.Details is { } d ? new DetailsDto
            {
                Losses = d.Losses.Select(N).ToList(), PairDistances = d.PairDistances.ToList(), PairGaps = d.PairGaps.ToList(),
                Confusion = Enumerable.Range(0, 3).Select(i => Enumerable.Range(0, 3).Select(j => d.Confusion[i, j]).ToArray()).ToArray(),
                Truth = d.Truth.ToList(), Predicted = d.Predicted.ToList(), PairPatients = d.PairPatients.ToList(),
            } : null,
        };

        public ExperimentRow ToRow(string source, int k)
        {
            string where = $"'{source}': row {k} ({Objective ?? "?"}, seed {Seed})";
            if (string.IsNullOrEmpty(Objective)) throw new InvalidDataException($"'{source}': row {k} has no objective.");
            if (Accuracy is null || MacroF1 is null || QuadraticKappa is null || Spearman is null)
                throw new InvalidDataException($"{where} lacks one of accuracy, macroF1, quadraticKappa, spearman.");
            ExperimentRunDetails? details = null;
            if (Details is { } d)
            {
                var distances = d.PairDistances ?? new(); var gaps = d.PairGaps ?? new();
                if (distances.Count != gaps.Count || d.Confusion is null || d.Confusion.Length != 3 || d.Confusion.Any(c => c is null || c.Length != 3))
                    throw new InvalidDataException($"{where} has inconsistent details (pair arrays of {distances.Count} and {gaps.Count}, or a confusion matrix that is not 3×3).");
                int n = d.Truth?.Count ?? 0;
                if ((d.Predicted?.Count ?? 0) != n || (d.PairPatients?.Count ?? 0) != n)
                    throw new InvalidDataException($"{where} has {n} truths, {d.Predicted?.Count ?? 0} predictions and {d.PairPatients?.Count ?? 0} pair patients; they must be equal.");
                if (d.Truth is not null && d.Truth.Any(t => t is < 0 or > 2) || d.Predicted is not null && d.Predicted.Any(t => t is < 0 or > 2))
                    throw new InvalidDataException($"{where}: change classes must be 0, 1 or 2.");
                var confusion = new int[3, 3];
                for (int i = 0; i < 3; i++) for (int j = 0; j < 3; j++) confusion[i, j] = d.Confusion[i][j];
                details = new ExperimentRunDetails((d.Losses ?? new()).Select(D).ToArray(), distances, gaps, confusion)
                {
                    Truth = d.Truth?.ToArray() ?? Array.Empty<int>(), Predicted = d.Predicted?.ToArray() ?? Array.Empty<int>(), PairPatients = d.PairPatients?.ToArray() ?? Array.Empty<int>(),
                };
            }
            return new ExperimentRow(Objective, Seed, Accuracy.ToInterval(), MacroF1.ToInterval(), QuadraticKappa.ToInterval(), Spearman.ToInterval(), PretrainingSeconds, D(FinalLoss))
            {
                Protocol = Protocol ?? "held-out k-fold", BalancedAccuracy = D(BalancedAccuracy), Warnings = Warnings?.ToArray() ?? Array.Empty<string>(), Details = details,
                Visit = Visit?.ToResult(where),
                Probe = Probe?.ToResult(where),
                Folds = (Folds ?? new()).Select(f => new ExperimentFold(f.Index, f.PretrainPatients?.ToArray() ?? Array.Empty<string>(), f.ValidationPatients?.ToArray() ?? Array.Empty<string>(), f.TestPatients?.ToArray() ?? Array.Empty<string>())
                {
                    Trials = (f.Trials ?? new()).Select(t => new TrialResult(t.Index, t.Settings ?? "", t.Metric ?? "", D(t.Score), t.PretrainingSeconds)).ToArray(),
                    ChosenTrial = f.ChosenTrial, ChosenSettings = f.ChosenSettings ?? "", PretrainingSeconds = f.PretrainingSeconds, FinalLoss = D(f.FinalLoss),
                }).ToArray(),
            };
        }
    }
}
