// `PaperClaim experiment <lus|mri> <cohortSeed> <seeds> <outdir> [trials=N] [objectives=a;b;…] [steps=N] [lr=X]
// [pooling=mean|attention]`: one
// LearnerExperiment under the leak-free protocol (a held-out split of 30 % of the patients per seed, validation patients
// carved out of the rest when a search runs), every objective on the same split, encoder, budget and search budget;
// writes <outdir>/results.json (with predictions, for paired differences) and results.md.
// `PaperClaim summarize <dir>[+<dir>…] …`: the tables of docs/results.md from those results files — per objective the mean ± sd over
// seeds and per-seed intervals, clip and visit level, and the per-seed paired differences to MSE.
using System.Globalization;
using System.Text;
using Learner.Data;
using Learner.Data.Synthetic;
using Learner.Encoders;
using Learner.Experiments;
using Learner.Metrics;
using Learner.Reporting;

internal static class Claim
{
    /// <summary>The cohort at its default size with the given seed, its thresholds and the experiment's encoder.</summary>
    public static (LongitudinalDataset Data, ExperimentOptions Options) Setup(string cohort, ulong cohortSeed)
    {
        switch (cohort)
        {
            case "lus":
                {
                    var c = new SyntheticLusCohort(new SyntheticLusOptions { Seed = cohortSeed });
                    return (c.Dataset, new ExperimentOptions
                    {
                        Encoder = new EncoderOptions { Architecture = "tsm-resnet", EmbeddingDimension = 64, ClipLength = c.Options.Frames },
                        ChangeThresholds = c.ChangeThresholds,
                    });
                }
            case "mri":
                {
                    var c = new SyntheticMriCohort(new SyntheticMriOptions { Seed = cohortSeed });
                    return (c.Dataset, new ExperimentOptions
                    {
                        Encoder = new EncoderOptions { Architecture = "volume", EmbeddingDimension = 64 },
                        ChangeThresholds = c.ChangeThresholds,
                    });
                }
            default: throw new ArgumentException($"cohort must be lus or mri, got '{cohort}'");
        }
    }

    /// <summary>The search space of every objective (each gets the same number of trials, drawn at random from its own
    /// space): four peak learning rates for all; for a weighted contrastive term its weight λ (in a composite only), its
    /// margin slope α and, in the hinge form, the base margin m₀ (the ranking form's m₀ is 0 by its recipe); for the
    /// softmax objectives (y-aware, Rank-N-Contrast) the temperature; for MSE with the within-patient term its weight λ.
    /// MSE's space is the four learning rates, so four trials cover
    /// it; every other space is larger and four of its points are drawn.</summary>
    public static HyperparameterSearchOptions Search(int trials) => new()
    {
        Trials = trials,
        LearningRates = new[] { 1.5e-3, 3e-3, 6e-3, 1.2e-2 },
        OptionValues = new Dictionary<string, IReadOnlyList<string>>
        {
            ["mse-within-patient.withinPatientWeight"] = HyperparameterSearch.DefaultAxes["mse-within-patient"].Values,
            ["weighted-contrastive.weight"] = new[] { "0.1", "0.3", "1", "3" },
            ["weighted-contrastive.marginSlope"] = new[] { "0.25", "0.5", "1" },
            ["weighted-contrastive.margin"] = new[] { "0.25", "0.5" },
            ["weighted-ranking.weight"] = new[] { "0.1", "0.3", "1", "3" },
            ["weighted-ranking.marginSlope"] = new[] { "0.125", "0.25", "0.5" },
            ["y-aware.temperature"] = new[] { "0.05", "0.1", "0.2" },
            ["rnc.temperature"] = new[] { "1", "2", "4" },
        },
    };

    public static int Experiment(string[] args)
    {
        string cohort = args[0];
        ulong cohortSeed = ulong.Parse(args[1], CultureInfo.InvariantCulture);
        var seeds = args[2].Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        string outDir = args[3];
        var kv = args.Skip(4).Select(a => a.Split('=', 2)).ToDictionary(p => p[0], p => p.Length > 1 ? p[1] : "", StringComparer.OrdinalIgnoreCase);
        var (data, options) = Setup(cohort, cohortSeed);
        int trials = kv.TryGetValue("trials", out var t) ? int.Parse(t, CultureInfo.InvariantCulture) : 0;
        options.Objectives = kv.TryGetValue("objectives", out var o) ? o.Split(';') : new[] { "mse", "mse+weighted-contrastive", "weighted-contrastive" };
        options.Seeds = seeds;
        options.Protocol = new ExperimentProtocolOptions { TestFraction = 0.3 };
        if (trials > 0) options.Search = Search(trials);
        if (kv.TryGetValue("lr", out var lr)) options.Pretraining = options.Pretraining with { Optimizer = options.Pretraining.Optimizer with { LearningRate = double.Parse(lr, CultureInfo.InvariantCulture) } };
        if (kv.TryGetValue("steps", out var st)) options.Pretraining = options.Pretraining with { StepsPerEpoch = int.Parse(st, CultureInfo.InvariantCulture) / options.Pretraining.Epochs };
        // aug=default: the library's default augmentation (flip, brightness, contrast, noise) on every pretraining view.
        if (kv.TryGetValue("aug", out var aug) && aug == "default") options.Pretraining = options.Pretraining with { Augmentation = new AugmentationOptions() };
        else if (aug is not null && aug != "none") throw new ArgumentException($"aug={aug}: use aug=default or aug=none.");
        if (kv.TryGetValue("pooling", out var pool)) options.VisitPooling = Enum.Parse<Learner.Downstream.VisitPooling>(pool, ignoreCase: true);
        var results = new LearnerExperiment(options).Run(data, new ExperimentRunOptions
        {
            OutputDirectory = outDir,
            CommandLine = "PaperClaim experiment " + string.Join(' ', args),
            DatasetDescription = $"synthetic {cohort.ToUpperInvariant()} cohort, seed {cohortSeed}: {data.PatientCount} patients, {data.ScanCount} scans",
        }, new Progress<string>(Console.WriteLine), null, CancellationToken.None);
        File.WriteAllText(Path.Combine(outDir, "results.md"), results.ToMarkdown());
        Console.WriteLine(results.ToMarkdown());
        return 0;
    }

    public static int Summarize(string[] dirs)
    {
        var sb = new StringBuilder();
        foreach (var group in dirs)
        {
            // "a+b": the rows of several results files of the same cohort and seeds (e.g. one process per objective, each
            // with its own selected learning rate); same seed ⇒ same held-out split, so paired differences hold.
            var parts = group.Split('+').Select(d => ExperimentResultsFile.Read(Path.Combine(d, "results.json"))).ToArray();
            var r = new ExperimentResults(parts.SelectMany(x => x.Rows).ToArray()) { Metadata = parts[0].Metadata };
            foreach (var x in parts)
                sb.Append(CultureInfo.InvariantCulture, $"- {x.Metadata.Dataset} — {x.Metadata.Protocol}; objectives {x.Metadata.Settings.FirstOrDefault(s => s.Key == "objectives").Value}; {x.Metadata.Settings.FirstOrDefault(s => s.Key == "budget").Value}; search: {x.Metadata.Settings.FirstOrDefault(s => s.Key == "search").Value}; pretraining {x.Rows.Sum(y => y.PretrainingSeconds):F0} s\n");
            sb.Append('\n');
            var table = new TextTable(new TextColumn("objective"), new TextColumn("seeds", ColumnAlignment.Right),
                new TextColumn("clip macro-F1 mean ± sd"), new TextColumn("clip macro-F1 95 % CI per seed"), new TextColumn("clip Spearman mean ± sd"),
                new TextColumn("visit macro-F1 mean ± sd"), new TextColumn("visit macro-F1 95 % CI per seed"), new TextColumn("visit Spearman mean ± sd"), new TextColumn("visit Spearman 95 % CI per seed"),
                new TextColumn("probe R² clip mean ± sd"), new TextColumn("probe R² visit mean ± sd"));
            foreach (var g in r.Rows.GroupBy(x => x.Objective))
            {
                var rows = g.OrderBy(x => x.Seed).ToList();
                string Ms(IEnumerable<double> v) { var a = v.ToArray(); return $"{a.Average():F3} ± {Sd(a):F3}"; }
                string Cis(IEnumerable<MetricInterval> v) => string.Join("; ", v.Select(m => IntervalText.Format(m)));
                table.AddRow(g.Key, rows.Count.ToString(CultureInfo.InvariantCulture),
                    Ms(rows.Select(x => x.MacroF1.Estimate)), Cis(rows.Select(x => x.MacroF1)), Ms(rows.Select(x => x.Spearman.Estimate)),
                    Ms(rows.Select(x => x.Visit!.MacroF1.Estimate)), Cis(rows.Select(x => x.Visit!.MacroF1)), Ms(rows.Select(x => x.Visit!.Spearman.Estimate)), Cis(rows.Select(x => x.Visit!.Spearman)),
                    rows.All(x => x.Probe is not null) ? Ms(rows.Select(x => x.Probe!.ClipR2.Estimate)) : "—",
                    rows.All(x => x.Probe is not null) ? Ms(rows.Select(x => x.Probe!.VisitR2.Estimate)) : "—");
            }
            sb.Append(table.ToMarkdown()).Append('\n');
            string baseline = r.Rows[0].Objective;
            var paired = new TextTable(new TextColumn("objective − " + baseline), new TextColumn("seed", ColumnAlignment.Right),
                new TextColumn("Δ clip macro-F1"), new TextColumn("Δ clip Spearman"), new TextColumn("Δ visit macro-F1"), new TextColumn("Δ visit Spearman"));
            foreach (var x in r.Rows.Where(x => x.Objective != baseline).OrderBy(x => x.Objective, StringComparer.Ordinal).ThenBy(x => x.Seed))
            {
                string D(PairedMetric m, ChangeLevel l)
                {
                    var d = r.PairedDifference(x.Objective, baseline, x.Seed, m, l);
                    return IntervalText.Format(d) + (d.Lower > 0 ? " ▲" : d.Upper < 0 ? " ▼" : "");
                }
                paired.AddRow(x.Objective, x.Seed.ToString(CultureInfo.InvariantCulture), D(PairedMetric.MacroF1, ChangeLevel.Clip), D(PairedMetric.Spearman, ChangeLevel.Clip),
                    D(PairedMetric.MacroF1, ChangeLevel.Visit), D(PairedMetric.Spearman, ChangeLevel.Visit));
            }
            sb.Append('\n').Append(paired.ToMarkdown()).Append('\n');
            var chosen = r.Rows.SelectMany(x => x.Folds.Select(f => (x.Objective, x.Seed, f))).Where(c => c.f.Trials.Count > 0).ToList();
            if (chosen.Count > 0)
            {
                var search = new TextTable(new TextColumn("objective"), new TextColumn("seed", ColumnAlignment.Right), new TextColumn("trial settings"), new TextColumn("validation macro-F1", ColumnAlignment.Right), new TextColumn("chosen"));
                foreach (var (obj, seed, f) in chosen)
                    foreach (var trial in f.Trials)
                        search.AddRow(obj, seed.ToString(CultureInfo.InvariantCulture), trial.Settings, double.IsFinite(trial.Score) ? trial.Score.ToString("F3", CultureInfo.InvariantCulture) : "NaN", trial.Index == f.ChosenTrial ? "✓" : "");
                sb.Append('\n').Append(search.ToMarkdown()).Append('\n');
            }
        }
        Console.Write(sb.ToString());
        return 0;
    }

    private static double Sd(double[] v)
    {
        if (v.Length < 2) return double.NaN;
        double m = v.Average();
        return Math.Sqrt(v.Sum(x => (x - m) * (x - m)) / (v.Length - 1));
    }
}
