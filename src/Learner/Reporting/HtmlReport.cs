using System.Globalization;
using System.Text;
using Learner.Experiments;
using Learner.Metrics;

namespace Learner.Reporting;

/// <summary>What the report says about the run besides the results.</summary>
public sealed record ReportOptions
{
    /// <summary>The page title. Default "Learner experiment".</summary>
    public string Title { get; init; } = "Learner experiment";

    /// <summary>A sentence or two on what was run (escaped; shown under the title), or null.</summary>
    public string? Description { get; init; }

    /// <summary>Settings shown as a two-column table (dataset, encoder, budget…), in order.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Settings { get; init; } = Array.Empty<KeyValuePair<string, string>>();

    /// <summary>Most points per alignment scatter (an even subsample; the correlation uses all). Default 1500.</summary>
    public int MaxScatterPoints { get; init; } = 1500;
}

/// <summary>
/// Writes an experiment's results as one self-contained HTML page: inline CSS and inline SVG charts, no scripts, no
/// external assets — the results table with confidence intervals, the visit level and the health-score probe's R², the
/// paired differences to the first objective, macro-F1 and Spearman per objective, the training curves, the paper's
/// Fig. 1 (embedding cosine distance against |Δscore| of same-patient pairs), the probe's predicted against true scores
/// and the confusion matrices. Every name and value from the data is escaped.
/// </summary>
public static class HtmlReport
{
    private const string Css = """
        body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;background:#fafafa;color:#222;line-height:1.45}
        main{max-width:1180px;margin:0 auto;padding:24px 32px 48px}
        h1{font-size:26px;margin:8px 0 4px}h2{font-size:19px;margin:32px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
        h3{font-size:15px;margin:16px 0 6px}p.lead{color:#555;margin-top:0}
        table{border-collapse:collapse;margin:8px 0 16px;font-size:13px;background:#fff}
        th,td{border:1px solid #e2e2e2;padding:5px 9px;text-align:right}th{background:#f0f3f7;font-weight:600}
        td:first-child,th:first-child{text-align:left}.best{font-weight:700;background:#eef7ee}.chosen{font-weight:600}
        .grid{display:flex;flex-wrap:wrap;gap:14px}.card{background:#fff;border:1px solid #e4e4e4;border-radius:6px;padding:8px}
        .note{color:#666;font-size:12px;max-width:900px}code{background:#f0f0f0;padding:1px 4px;border-radius:3px}
        """;

    /// <summary>Renders the report.</summary>
    /// <param name="results">The experiment's results (rows with <see cref="ExperimentRow.Details"/> get charts).</param>
    /// <param name="options">Title, description and settings, or null for defaults.</param>
    /// <returns>The HTML page.</returns>
    public static string Render(ExperimentResults results, ReportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(results);
        options ??= new ReportOptions();
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
        sb.Append("<title>").Append(E(options.Title)).Append("</title><style>").Append(Css).Append("</style></head><body><main>\n");
        sb.Append("<h1>").Append(E(options.Title)).Append("</h1>\n");
        if (options.Description is not null) sb.Append("<p class=\"lead\">").Append(E(options.Description)).Append("</p>\n");
        Protocol(sb, results);
        if (options.Settings.Count > 0)
        {
            sb.Append("<table>");
            foreach (var kv in options.Settings) sb.Append("<tr><th>").Append(E(kv.Key)).Append("</th><td style=\"text-align:left\">").Append(E(kv.Value)).Append("</td></tr>");
            sb.Append("</table>\n");
        }
        var groups = results.Rows.GroupBy(r => r.Objective).ToList();
        if (groups.Count == 0)
        {
            sb.Append("<p>No runs.</p></main></body></html>\n");
            return sb.ToString();
        }

        Summary(sb, groups, results);
        VisitAndProbe(sb, groups);
        Paired(sb, results);
        var warnings = results.Rows.SelectMany(r => r.Warnings.Select(w => $"{r.Objective} (seed {r.Seed}): {w}")).ToList();
        if (warnings.Count > 0)
        {
            sb.Append("<ul class=\"note\">");
            foreach (var w in warnings) sb.Append("<li>").Append(E(w)).Append("</li>");
            sb.Append("</ul>\n");
        }
        sb.Append("<div class=\"grid\">");
        Card(sb, Charts.IntervalBars("Macro-F1 of three-way change", "macro-F1", groups.Select(g => Interval(g.Key, g.Select(r => r.MacroF1))).ToList()));
        Card(sb, Charts.IntervalBars("Alignment: Spearman(distance, |Δscore|)", "Spearman ρ", groups.Select(g => Interval(g.Key, g.Select(r => r.Spearman))).ToList()));
        sb.Append("</div><p class=\"note\">Bars: mean over seeds; whiskers: mean of the per-seed 95 % patient-bootstrap intervals.</p>\n");

        sb.Append("<h2>Training curves</h2><div class=\"grid\">");
        foreach (var g in groups)
        {
            var series = g.Where(r => r.Details is not null).Select(r =>
            {
                var (values, per) = r.Details!.LossCurve(300);
                return new ChartSeries($"seed {r.Seed}", values, per);
            }).ToList();
            Card(sb, Charts.Line(g.Key, "step", "training loss", series, 380, 250));
        }
        sb.Append("</div>\n");

        sb.Append("<h2>Embedding distance against health change (the paper's Fig. 1)</h2>");
        sb.Append("<p class=\"note\">Each point is a pair of consecutive scans of one patient: x is |Δscore|, y the cosine distance of their embeddings (first seed). An encoder that has learnt fine-grained change puts large clinical changes far apart (a rising cloud, high ρ).</p><div class=\"grid\">");
        foreach (var g in groups)
        {
            var r = g.FirstOrDefault(r => r.Details is not null);
            if (r is null) continue;
            // The row's Spearman estimate is this very correlation (over all of the run's pairs); no need to recompute it.
            Card(sb, Charts.Scatter(string.Create(CultureInfo.InvariantCulture, $"{g.Key} (seed {r.Seed}): Spearman ρ = {F(r.Spearman.Estimate)}"), "|Δscore|", "cosine distance",
                r.Details!.PairGaps, r.Details.PairDistances, options.MaxScatterPoints));
        }
        sb.Append("</div>\n");

        var probed = groups.Select(g => (g.Key, Row: g.FirstOrDefault(r => r.Probe is { ClipScores.Count: > 0 }))).Where(x => x.Row is not null).ToList();
        if (probed.Count > 0)
        {
            sb.Append("<h2>Health-score probe on held-out patients</h2>");
            sb.Append("<p class=\"note\">Each point is a held-out scan: x its health score, y what a ridge probe fit on the training patients' frozen embeddings predicts (first seed). The closer to the diagonal, the more of the score the embedding carries linearly.</p><div class=\"grid\">");
            foreach (var (name, row) in probed)
                Card(sb, Charts.Scatter(string.Create(CultureInfo.InvariantCulture, $"{name} (seed {row!.Seed}): R² = {F(row.Probe!.ClipR2.Estimate)}"), "health score", "probe prediction",
                    row.Probe.ClipScores, row.Probe.ClipPredictions, options.MaxScatterPoints));
            sb.Append("</div>\n");
        }

        sb.Append("<h2>Confusion matrices (all seeds)</h2><div class=\"grid\">");
        foreach (var g in groups)
        {
            var rows = g.Where(r => r.Details is not null).ToList();
            if (rows.Count == 0) continue;
            var sum = new int[3, 3];
            foreach (var r in rows)
                for (int i = 0; i < 3; i++) for (int j = 0; j < 3; j++) sum[i, j] += r.Details!.Confusion[i, j];
            Card(sb, Charts.Confusion(g.Key, sum, Classification.ChangeLabelNames, 280));
        }
        sb.Append("</div>\n");

        sb.Append("<h2>Every run</h2><table><tr><th>objective</th><th>seed</th><th>accuracy</th><th>macro-F1</th><th>quadratic κ</th><th>Spearman</th><th>pretraining s</th><th>final loss</th></tr>");
        foreach (var r in results.Rows)
            sb.Append(CultureInfo.InvariantCulture, $"<tr><td>{E(r.Objective)}</td><td>{r.Seed}</td><td>{Ci(r.Accuracy)}</td><td>{Ci(r.MacroF1)}</td><td>{Ci(r.QuadraticKappa)}</td><td>{Ci(r.Spearman)}</td><td>{r.PretrainingSeconds:F1}</td><td>{F(r.FinalLoss)}</td></tr>");
        sb.Append("</table>\n<p class=\"note\">Intervals: 95 % bootstrap over patients. ").Append(E(ProtocolNote(results))).Append("</p>\n");
        Search(sb, results);
        sb.Append("</main></body></html>\n");
        return sb.ToString();
    }

    /// <summary>Renders the report and writes it to <paramref name="path"/> (UTF-8; the folder is created).</summary>
    /// <param name="path">The .html file.</param>
    /// <param name="results">The results.</param>
    /// <param name="options">Title, description and settings.</param>
    public static void Write(string path, ExperimentResults results, ReportOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string html = Render(results, options);
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        string temp = path + ".tmp";
        File.WriteAllText(temp, html, new UTF8Encoding(false));
        File.Move(temp, path, overwrite: true);
    }

    private static void Protocol(StringBuilder sb, ExperimentResults results)
    {
        bool transductive = results.Rows.Any(r => r.Protocol == "transductive") || results.Metadata.Protocol == "transductive";
        sb.Append(transductive ? "<p class=\"lead\" style=\"color:#b00\">" : "<p class=\"note\">").Append(E(ProtocolNote(results)));
        if (!results.Metadata.Complete) sb.Append(" <strong>Incomplete:</strong> the experiment was cancelled; only finished runs are shown.");
        sb.Append(CultureInfo.InvariantCulture, $" Learner {E(results.Metadata.LibraryVersion)}").Append("</p>\n");
    }

    private static string ProtocolNote(ExperimentResults results) =>
        results.Rows.Any(r => r.Protocol == "transductive") || results.Metadata.Protocol == "transductive"
            ? "Protocol: transductive — pretraining saw every evaluated patient (scans and scores); only the change classifier was cross-validated. These are not held-out estimates."
            : $"Protocol: {results.Metadata.Protocol} — patients were split before pretraining; each held-out patient was predicted once by a model whose pretraining, selection and change classifier never saw it.";

    /// <summary>Every search trial with its validation score; the chosen one in bold.</summary>
    private static void Search(StringBuilder sb, ExperimentResults results)
    {
        var searched = results.Rows.Where(r => r.Folds.Any(f => f.Trials.Count > 0)).ToList();
        if (searched.Count == 0) return;
        sb.Append("<h2>Hyperparameter search (validation patients)</h2><table><tr><th>objective</th><th>seed</th><th>fold</th><th>trial</th><th>settings</th><th>validation score</th><th>s</th></tr>");
        foreach (var r in searched)
            foreach (var f in r.Folds)
                foreach (var t in f.Trials)
                {
                    bool chosen = f.ChosenTrial == t.Index;
                    sb.Append(chosen ? "<tr class=\"chosen\">" : "<tr>").Append(CultureInfo.InvariantCulture,
                        $"<td>{E(r.Objective)}</td><td>{r.Seed}</td><td>{f.Index}</td><td>{t.Index}{(chosen ? " (chosen)" : "")}</td><td style=\"text-align:left\">{E(t.Settings)}</td><td>{E(t.Metric)} {F(t.Score)}</td><td>{t.PretrainingSeconds:F1}</td></tr>");
                }
        sb.Append("</table>\n");
    }

    /// <summary>The objective with the best mean macro-F1, if its paired difference to every other objective (same seeds,
    /// same held-out pairs) has a 95 % interval above 0 for every shared seed; otherwise null (no winner is claimed).</summary>
    private static string? SignificantBest(List<IGrouping<string, ExperimentRow>> groups, ExperimentResults results)
    {
        if (groups.Count < 2) return null;
        var best = groups.MaxBy(g => Mean(g.Select(r => r.MacroF1.Estimate)))!;
        foreach (var other in groups.Where(g => g.Key != best.Key))
        {
            var seeds = best.Select(r => r.Seed).Intersect(other.Select(r => r.Seed)).ToList();
            if (seeds.Count == 0) return null;
            foreach (int seed in seeds)
            {
                try
                {
                    if (!(results.PairedMacroF1Difference(best.Key, other.Key, seed, 500).Lower > 0)) return null;
                }
                catch (ArgumentException)
                {
                    return null; // no recorded predictions, or different pairs: no paired comparison, no claim
                }
            }
        }
        return best.Key;
    }

    private static void Summary(StringBuilder sb, List<IGrouping<string, ExperimentRow>> groups, ExperimentResults results)
    {
        string? best = SignificantBest(groups, results);
        sb.Append("<h2>Results</h2><table><tr><th>objective</th><th>seeds</th><th>accuracy</th><th>macro-F1 (mean ± sd)</th><th>quadratic κ</th><th>Spearman (mean ± sd)</th><th>pretraining s</th></tr>");
        foreach (var g in groups)
        {
            sb.Append(g.Key == best ? "<tr class=\"best\">" : "<tr>");
            sb.Append(CultureInfo.InvariantCulture,
                $"<td>{E(g.Key)}</td><td>{g.Count()}</td><td>{F(Mean(g.Select(r => r.Accuracy.Estimate)))}</td><td>{MeanSd(g.Select(r => r.MacroF1.Estimate))}</td><td>{F(Mean(g.Select(r => r.QuadraticKappa.Estimate)))}</td><td>{MeanSd(g.Select(r => r.Spearman.Estimate))}</td><td>{g.Average(r => r.PretrainingSeconds):F1}</td></tr>");
        }
        sb.Append("</table>\n<p class=\"note\">").Append(best is null
            ? "No objective is highlighted: no objective's paired macro-F1 difference to every other one has a 95 % patient-bootstrap interval above 0."
            : $"Highlighted: {E(best)}, whose paired macro-F1 difference to every other objective (same seeds, same held-out pairs) has a 95 % interval above 0.").Append("</p>\n");
    }

    /// <summary>Visit-level change and alignment, and the health-score probe's R², per objective (mean ± sd over seeds).</summary>
    private static void VisitAndProbe(StringBuilder sb, List<IGrouping<string, ExperimentRow>> groups)
    {
        if (!groups.Any(g => g.Any(r => r.Visit is not null || r.Probe is not null))) return;
        sb.Append("<h2>Visit level and health-score probe</h2><table><tr><th>objective</th><th>seeds</th><th>visit macro-F1 (mean ± sd)</th><th>visit Spearman (mean ± sd)</th><th>probe R² clip</th><th>probe R² visit</th></tr>");
        foreach (var g in groups)
            sb.Append(CultureInfo.InvariantCulture,
                $"<tr><td>{E(g.Key)}</td><td>{g.Count()}</td><td>{MeanSd(g.Where(r => r.Visit is not null).Select(r => r.Visit!.MacroF1.Estimate))}</td><td>{MeanSd(g.Where(r => r.Visit is not null).Select(r => r.Visit!.Spearman.Estimate))}</td><td>{MeanSd(g.Where(r => r.Probe is not null).Select(r => r.Probe!.ClipR2.Estimate))}</td><td>{MeanSd(g.Where(r => r.Probe is not null).Select(r => r.Probe!.VisitR2.Estimate))}</td></tr>");
        sb.Append("</table>\n<p class=\"note\">Visit level: each visit is the pooled embedding of its scans, one pair per consecutive visits of a held-out patient. Probe: ridge regression (α = 1) of the health score on standardised frozen embeddings, fit on each fold's training patients, R² on its held-out patients.</p>\n");
    }

    /// <summary>The paired differences to the first objective per seed (<see cref="ExperimentResults.PairedDifferences"/>).</summary>
    private static void Paired(StringBuilder sb, ExperimentResults results)
    {
        var table = results.PairedDifferences(500);
        if (table.Rows.Count == 0) return;
        sb.Append("<h2>Paired differences to ").Append(E(results.Rows[0].Objective)).Append("</h2><table><tr>");
        foreach (var c in table.Columns) sb.Append("<th>").Append(E(c.Header)).Append("</th>");
        sb.Append("</tr>");
        foreach (var row in table.Rows)
        {
            sb.Append("<tr>");
            foreach (var cell in row) sb.Append("<td>").Append(E(cell)).Append("</td>");
            sb.Append("</tr>");
        }
        sb.Append("</table>\n<p class=\"note\">Same seed, same held-out pairs; one patient resample per bootstrap replicate for both objectives (500 replicates); * marks an interval that excludes 0.</p>\n");
    }

    private static ChartInterval Interval(string name, IEnumerable<MetricInterval> values)
    {
        var v = values.ToList();
        return new ChartInterval(name, Mean(v.Select(m => m.Estimate)), Mean(v.Select(m => m.Lower)), Mean(v.Select(m => m.Upper)));
    }

    private static double Mean(IEnumerable<double> values)
    {
        var f = values.Where(double.IsFinite).ToList();
        return f.Count == 0 ? double.NaN : f.Average();
    }

    private static string MeanSd(IEnumerable<double> values)
    {
        var f = values.Where(double.IsFinite).ToList();
        if (f.Count == 0) return "—";
        double m = f.Average();
        if (f.Count == 1) return F(m);
        double sd = Math.Sqrt(f.Sum(x => (x - m) * (x - m)) / (f.Count - 1));
        return $"{F(m)} ± {F(sd)}";
    }

    private static void Card(StringBuilder sb, string svg) => sb.Append("<div class=\"card\">").Append(svg).Append("</div>");

    private static string Ci(MetricInterval m) => $"{F(m.Estimate)} <small>[{F(m.Lower)}, {F(m.Upper)}]</small>";

    private static string F(double v) => double.IsFinite(v) ? v.ToString("F3", CultureInfo.InvariantCulture) : "—";

    private static string E(string s) => SvgWriter.Escape(s);
}
