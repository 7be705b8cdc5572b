using System.Text.Json;
using Learner.Experiments;
using Learner.Metrics;
using Learner.Reporting;

namespace Learner.Cli;

/// <summary>An experiment's full results (with the report's per-run details) as JSON, so <c>report</c> can redraw it.</summary>
internal static class ExperimentFile
{
    private const string Format = "learner-experiment/1";

    private sealed record Interval(double Estimate, double Lower, double Upper);

    private sealed record Row(string Objective, int Seed, Interval Accuracy, Interval MacroF1, Interval QuadraticKappa, Interval Spearman,
        double PretrainingSeconds, double FinalLoss, double[]? Losses, double[]? PairDistances, double[]? PairGaps, int[][]? Confusion);

    private sealed record Document(string Format, string Title, string? Description, Dictionary<string, string> Settings, List<Row> Rows);

    public static void Write(string path, ExperimentResults results, ReportOptions options)
    {
        static Interval I(MetricInterval m) => new(m.Estimate, m.Lower, m.Upper);
        var rows = results.Rows.Select(r => new Row(r.Objective, r.Seed, I(r.Accuracy), I(r.MacroF1), I(r.QuadraticKappa), I(r.Spearman), r.PretrainingSeconds, r.FinalLoss,
            r.Details?.Losses.ToArray(), r.Details?.PairDistances.ToArray(), r.Details?.PairGaps.ToArray(),
            r.Details is { } d ? Enumerable.Range(0, 3).Select(i => Enumerable.Range(0, 3).Select(j => d.Confusion[i, j]).ToArray()).ToArray() : null)).ToList();
        var doc = new Document(Format, options.Title, options.Description, options.Settings.ToDictionary(k => k.Key, k => k.Value), rows);
        File.WriteAllText(path, JsonSerializer.Serialize(doc, CliContext.JsonOptions));
    }

    public static (ExperimentResults Results, ReportOptions Options) Read(string path)
    {
        Document doc;
        try { doc = JsonSerializer.Deserialize<Document>(File.ReadAllText(path), CliContext.JsonOptions) ?? throw new InvalidDataException($"'{path}' is empty."); }
        catch (JsonException e) { throw new InvalidDataException($"'{path}' is not an experiment.json written by learner experiment: {e.Message}", e); }
        if (doc.Format != Format) throw new InvalidDataException($"'{path}' has format '{doc.Format}', expected '{Format}'.");
        static MetricInterval M(Interval i) => new(i.Estimate, i.Lower, i.Upper);
        var rows = new List<ExperimentRow>();
        for (int k = 0; k < (doc.Rows?.Count ?? 0); k++)
        {
            var r = doc.Rows![k];
            ExperimentRunDetails? details = null;
            if (r.Losses is not null && r.PairDistances is not null && r.PairGaps is not null && r.Confusion is not null)
            {
                if (r.PairDistances.Length != r.PairGaps.Length || r.Confusion.Length != 3 || r.Confusion.Any(c => c is null || c.Length != 3))
                    throw new InvalidDataException($"'{path}': row {k} ({r.Objective}, seed {r.Seed}) has inconsistent details (pair arrays of {r.PairDistances.Length} and {r.PairGaps.Length}, or a confusion matrix that is not 3×3).");
                var confusion = new int[3, 3];
                for (int i = 0; i < 3; i++) for (int j = 0; j < 3; j++) confusion[i, j] = r.Confusion[i][j];
                details = new ExperimentRunDetails(r.Losses, r.PairDistances, r.PairGaps, confusion);
            }
            rows.Add(new ExperimentRow(r.Objective, r.Seed, M(r.Accuracy), M(r.MacroF1), M(r.QuadraticKappa), M(r.Spearman), r.PretrainingSeconds, r.FinalLoss) { Details = details });
        }
        var options = new ReportOptions { Title = doc.Title, Description = doc.Description, Settings = (doc.Settings ?? new()).Select(kv => kv).ToArray() };
        return (new ExperimentResults(rows), options);
    }
}
