using System.Globalization;
using Learner.Metrics;
using Learner.Nn;
using Learner.Reporting;

namespace Learner.Experiments;

/// <summary>What an experiment ran on and with: recorded in every results file so that a number can be traced back to
/// the code, the command and every resolved setting that produced it.</summary>
public sealed record ExperimentMetadata
{
    /// <summary>The Learner library version (informational version, with the commit when the build knew it).</summary>
    public string LibraryVersion { get; init; } = ExperimentProvenance.LibraryVersion;

    /// <summary>The source commit the library was built from, or null when unknown.</summary>
    public string? Commit { get; init; } = ExperimentProvenance.Commit;

    /// <summary>The command line that ran the experiment, or null from code.</summary>
    public string? CommandLine { get; init; }

    /// <summary>The protocol's name ("held-out k-fold", "held-out split", "transductive").</summary>
    public string Protocol { get; init; } = "held-out k-fold";

    /// <summary>A description of the data (source, patients, scans, which column fed what).</summary>
    public string? Dataset { get; init; }

    /// <summary>Every resolved setting, as name → value text, in order.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Settings { get; init; } = Array.Empty<KeyValuePair<string, string>>();

    /// <summary>When the experiment started (UTC).</summary>
    public DateTimeOffset Started { get; init; } = DateTimeOffset.UtcNow;

    /// <summary>False when the experiment was cancelled before every run finished (the rows are the finished runs).</summary>
    public bool Complete { get; init; } = true;
}

/// <summary>The results of an experiment: one row per objective × seed, plus what produced them.</summary>
/// <param name="Rows">One row per objective and seed.</param>
public sealed record ExperimentResults(IReadOnlyList<ExperimentRow> Rows)
{
    /// <summary>Provenance and settings.</summary>
    public ExperimentMetadata Metadata { get; init; } = new();

    /// <summary>The results table (estimates with 95 % intervals), as a <see cref="TextTable"/>.</summary>
    /// <returns>The table.</returns>
    public TextTable ToTable()
    {
        var table = new TextTable(
            new TextColumn("objective"), new TextColumn("seed", ColumnAlignment.Right), new TextColumn("protocol"),
            new TextColumn("accuracy"), new TextColumn("macro-F1"), new TextColumn("quadratic κ"),
            new TextColumn("Spearman(dist, |Δscore|)"), new TextColumn("pretraining s", ColumnAlignment.Right));
        foreach (var r in Rows)
            table.AddRow(r.Objective, r.Seed.ToString(CultureInfo.InvariantCulture), r.Protocol, IntervalText.Format(r.Accuracy), IntervalText.Format(r.MacroF1),
                IntervalText.Format(r.QuadraticKappa), IntervalText.Format(r.Spearman), r.PretrainingSeconds.ToString("F1", CultureInfo.InvariantCulture));
        return table;
    }

    /// <summary>A GitHub markdown table (estimates with 95 % intervals), preceded by the protocol and followed by warnings.</summary>
    /// <returns>The markdown.</returns>
    public string ToMarkdown()
    {
        string protocol = Rows.Select(r => r.Protocol).Distinct().DefaultIfEmpty(Metadata.Protocol).Aggregate((a, b) => a + ", " + b);
        var text = $"Protocol: {protocol}{(protocol.Contains("transductive", StringComparison.Ordinal) ? " — pretraining saw every evaluated patient; these are not held-out estimates" : "")}.{(Metadata.Complete ? "" : " Incomplete: cancelled before every run finished.")}\n\n" + ToTable().ToMarkdown();
        var paired = PairedDifferences();
        if (paired.Rows.Count > 0)
            text += $"\nPaired differences to {Rows[0].Objective} (same seed, same held-out pairs; 95 % patient bootstrap; significant only when the interval excludes 0, marked *):\n\n" + paired.ToMarkdown();
        if (Rows.Any(r => r.Visit is not null))
            text += "\nVisit level (each visit the mean of its clips' embeddings; consecutive visits of the same held-out patients):\n\n" + ToVisitTable().ToMarkdown();
        if (Rows.Any(r => r.Probe is not null))
            text += "\nHealth-score probe (ridge, α = 1, on standardised frozen embeddings; fit on each fold's training patients, R² on its held-out patients, pooled):\n\n" + ToProbeTable().ToMarkdown();
        var warnings = Rows.SelectMany(r => r.Warnings.Select(w => $"- {r.Objective} (seed {r.Seed}): {w}")).ToList();
        return warnings.Count == 0 ? text : text + "\n" + string.Join("\n", warnings) + "\n";
    }

    /// <summary>The paired macro-F1 difference of every objective to the first row's objective (the baseline), per
    /// seed, where both rows carry their predictions (<see cref="PairedMacroF1Difference"/>).</summary>
    /// <param name="resamples">Bootstrap replicates (≥ 1).</param>
    /// <returns>A table with objective, seed, difference [interval] and whether the interval excludes 0.</returns>
    public TextTable PairedDifferences(int resamples = 1000)
    {
        var table = new TextTable(new TextColumn("objective"), new TextColumn("seed", ColumnAlignment.Right), new TextColumn("Δ macro-F1 [95 % CI]"), new TextColumn("excludes 0"),
            new TextColumn("Δ Spearman [95 % CI]"), new TextColumn("visit Δ macro-F1 [95 % CI]"), new TextColumn("visit Δ Spearman [95 % CI]"));
        if (Rows.Count == 0) return table;
        string baseline = Rows[0].Objective;
        static string Verdict(MetricInterval d) => d.Lower > 0 ? "yes (better)" : d.Upper < 0 ? "yes (worse)" : "no";
        string Try(Func<MetricInterval> f)
        {
            try { var d = f(); return IntervalText.Format(d) + (d.Lower > 0 || d.Upper < 0 ? " *" : ""); }
            catch (ArgumentException) { return "—"; }
        }
        foreach (var r in Rows.Where(r => !string.Equals(r.Objective, baseline, StringComparison.OrdinalIgnoreCase)))
        {
            if (r.Details is not { Truth.Count: > 0 } || !Rows.Any(b => b.Seed == r.Seed && b.Objective == baseline && b.Details is { Truth.Count: > 0 })) continue;
            MetricInterval d;
            try { d = PairedMacroF1Difference(r.Objective, baseline, r.Seed, resamples); }
            catch (ArgumentException) { continue; } // evaluated on different pairs: no paired comparison
            table.AddRow(r.Objective, r.Seed.ToString(CultureInfo.InvariantCulture), IntervalText.Format(d), Verdict(d),
                Try(() => PairedDifference(r.Objective, baseline, r.Seed, PairedMetric.Spearman, ChangeLevel.Clip, resamples)),
                Try(() => PairedDifference(r.Objective, baseline, r.Seed, PairedMetric.MacroF1, ChangeLevel.Visit, resamples)),
                Try(() => PairedDifference(r.Objective, baseline, r.Seed, PairedMetric.Spearman, ChangeLevel.Visit, resamples)));
        }
        return table;
    }

    /// <summary>The visit-level results (rows without a visit-level evaluation are left out).</summary>
    /// <returns>A table with objective, seed, pairs and the visit-level metrics with their intervals.</returns>
    public TextTable ToVisitTable()
    {
        var table = new TextTable(new TextColumn("objective"), new TextColumn("seed", ColumnAlignment.Right), new TextColumn("visit pairs", ColumnAlignment.Right),
            new TextColumn("accuracy"), new TextColumn("macro-F1"), new TextColumn("quadratic κ"), new TextColumn("Spearman(dist, |Δscore|)"));
        foreach (var r in Rows.Where(r => r.Visit is not null))
            table.AddRow(r.Objective, r.Seed.ToString(CultureInfo.InvariantCulture), r.Visit!.Pairs.ToString(CultureInfo.InvariantCulture), IntervalText.Format(r.Visit.Accuracy),
                IntervalText.Format(r.Visit.MacroF1), IntervalText.Format(r.Visit.QuadraticKappa), IntervalText.Format(r.Visit.Spearman));
        return table;
    }

    /// <summary>The health-score probe's R² (rows without a probe are left out).</summary>
    /// <returns>A table with objective, seed, held-out scans and visits, and the clip- and visit-level R² with intervals.</returns>
    public TextTable ToProbeTable()
    {
        var table = new TextTable(new TextColumn("objective"), new TextColumn("seed", ColumnAlignment.Right), new TextColumn("scans", ColumnAlignment.Right),
            new TextColumn("R² clip"), new TextColumn("visits", ColumnAlignment.Right), new TextColumn("R² visit"));
        foreach (var r in Rows.Where(r => r.Probe is not null))
            table.AddRow(r.Objective, r.Seed.ToString(CultureInfo.InvariantCulture), r.Probe!.Scans.ToString(CultureInfo.InvariantCulture), IntervalText.Format(r.Probe.ClipR2),
                r.Probe.Visits.ToString(CultureInfo.InvariantCulture), IntervalText.Format(r.Probe.VisitR2));
        return table;
    }

    /// <summary>CSV with one column per estimate and bound (RFC 4180 quoting; NaN written as NaN).</summary>
    /// <returns>The CSV text.</returns>
    public string ToCsv()
    {
        var table = new TextTable("objective,seed,protocol,accuracy,accuracy_lo,accuracy_hi,macro_f1,macro_f1_lo,macro_f1_hi,kappa,kappa_lo,kappa_hi,spearman,spearman_lo,spearman_hi,pretraining_seconds,final_loss"
            .Split(',').Select(c => new TextColumn(c)).ToArray());
        static string R(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        foreach (var r in Rows)
            table.AddRow(r.Objective, r.Seed.ToString(CultureInfo.InvariantCulture), r.Protocol,
                R(r.Accuracy.Estimate), R(r.Accuracy.Lower), R(r.Accuracy.Upper), R(r.MacroF1.Estimate), R(r.MacroF1.Lower), R(r.MacroF1.Upper),
                R(r.QuadraticKappa.Estimate), R(r.QuadraticKappa.Lower), R(r.QuadraticKappa.Upper), R(r.Spearman.Estimate), R(r.Spearman.Lower), R(r.Spearman.Upper),
                R(r.PretrainingSeconds), R(r.FinalLoss));
        return table.ToCsv();
    }

    /// <summary>The versioned results JSON (<see cref="ExperimentResultsFile.Schema"/>; NaN written as null). With
    /// <paramref name="includeDetails"/>, each row also carries its loss curve, predictions and alignment pairs.</summary>
    /// <param name="includeDetails">Whether to include the per-run details.</param>
    /// <returns>The JSON text.</returns>
    public string ToJson(bool includeDetails = false) => ExperimentResultsFile.Serialize(this, includeDetails);

    /// <summary>
    /// The paired difference <paramref name="objective"/> − <paramref name="baseline"/> of macro-F1 for one seed: both
    /// were evaluated on the same held-out pairs (same seed, same folds), so the patient bootstrap resamples patients once
    /// per replicate for both, and the interval is that of the difference. A difference is significant at 95 % only
    /// when its interval excludes 0.
    /// </summary>
    /// <param name="objective">The objective spec of the row compared.</param>
    /// <param name="baseline">The baseline's objective spec.</param>
    /// <param name="seed">The seed both rows share.</param>
    /// <param name="resamples">Bootstrap replicates (≥ 1).</param>
    /// <returns>The difference and its interval.</returns>
    /// <exception cref="ArgumentException">A row is missing or lacks recorded predictions, or the two were not evaluated on
    /// the same pairs.</exception>
    public MetricInterval PairedMacroF1Difference(string objective, string baseline, int seed, int resamples = 1000)
        => PairedDifference(objective, baseline, seed, PairedMetric.MacroF1, ChangeLevel.Clip, resamples);

    /// <summary>
    /// The paired difference <paramref name="objective"/> − <paramref name="baseline"/> of a metric for one seed, at the
    /// clip or visit level (see <see cref="PairedComparison"/>): both rows were evaluated on the same held-out pairs, and
    /// each bootstrap replicate resamples patients once for both.
    /// </summary>
    /// <param name="objective">The objective spec of the row compared.</param>
    /// <param name="baseline">The baseline's objective spec.</param>
    /// <param name="seed">The seed both rows share.</param>
    /// <param name="metric">Macro-F1 or alignment Spearman.</param>
    /// <param name="level">Clip pairs or visit pairs.</param>
    /// <param name="resamples">Bootstrap replicates (≥ 1).</param>
    /// <returns>The difference and its interval.</returns>
    /// <exception cref="ArgumentException">A row is missing, lacks what the level needs, or the two were not evaluated on
    /// the same pairs.</exception>
    public MetricInterval PairedDifference(string objective, string baseline, int seed, PairedMetric metric, ChangeLevel level = ChangeLevel.Clip, int resamples = 1000)
    {
        var a = Find(objective, seed);
        var b = Find(baseline, seed);
        IReadOnlyList<int> truthA, truthB, predA, predB, patientsA, patientsB;
        IReadOnlyList<double> distA, distB, gapsA, gapsB;
        if (level == ChangeLevel.Visit)
        {
            if (a.Visit is not { Truth.Count: > 0 } va || b.Visit is not { Truth.Count: > 0 } vb)
                throw new ArgumentException($"The rows of '{objective}' and '{baseline}' (seed {seed}) must both carry visit-level predictions.", nameof(level));
            (truthA, predA, patientsA, distA, gapsA) = (va.Truth, va.Predicted, va.PairPatients, va.Distances, va.Gaps);
            (truthB, predB, patientsB, distB, gapsB) = (vb.Truth, vb.Predicted, vb.PairPatients, vb.Distances, vb.Gaps);
        }
        else
        {
            if (a.Details is not { Truth.Count: > 0 } da || b.Details is not { Truth.Count: > 0 } db)
                throw new ArgumentException($"The rows of '{objective}' and '{baseline}' (seed {seed}) must both carry their predictions (Details.Truth).", nameof(objective));
            (truthA, predA, patientsA, distA, gapsA) = (da.Truth, da.Predicted, da.PairPatients, da.PairDistances, da.PairGaps);
            (truthB, predB, patientsB, distB, gapsB) = (db.Truth, db.Predicted, db.PairPatients, db.PairDistances, db.PairGaps);
        }
        if (!truthA.SequenceEqual(truthB) || !patientsA.SequenceEqual(patientsB))
            throw new ArgumentException($"'{objective}' and '{baseline}' (seed {seed}) were not evaluated on the same pairs; a paired difference needs the same folds.", nameof(baseline));
        if (metric == PairedMetric.MacroF1) return PairedComparison.MacroF1(truthA, predA, predB, patientsA, resamples, (ulong)seed);
        if (distA.Count != patientsA.Count || distB.Count != patientsA.Count || !gapsA.SequenceEqual(gapsB))
            throw new ArgumentException($"'{objective}' and '{baseline}' (seed {seed}) do not carry distances for the same evaluated pairs (the transductive mode aligns on other pairs).", nameof(baseline));
        return PairedComparison.Spearman(gapsA, distA, distB, patientsA, resamples, (ulong)seed);
    }

    private ExperimentRow Find(string objective, int seed) =>
        Rows.FirstOrDefault(r => r.Seed == seed && string.Equals(r.Objective, objective, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"No row of objective '{objective}' with seed {seed}; rows: {string.Join(", ", Rows.Select(r => $"{r.Objective}/{r.Seed}"))}.", nameof(objective));
}

/// <summary>The library version and commit recorded in results.</summary>
public static class ExperimentProvenance
{
    /// <summary>The informational version of the Learner assembly (e.g. <c>0.1.0+3f2a…</c>).</summary>
    public static string LibraryVersion { get; } =
        (typeof(ExperimentProvenance).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion)
        ?? typeof(ExperimentProvenance).Assembly.GetName().Version?.ToString() ?? "unknown";

    /// <summary>The commit in the informational version (after '+'), or null.</summary>
    public static string? Commit { get; } = LibraryVersion.IndexOf('+', StringComparison.Ordinal) is int plus and >= 0 ? LibraryVersion[(plus + 1)..] : null;
}
