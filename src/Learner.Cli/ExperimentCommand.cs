using System.CommandLine;
using System.Globalization;
using Learner.Data;
using Learner.Data.Synthetic;
using Learner.Experiments;
using Learner.Objectives;
using Learner.Reporting;
using Learner.Training;
using Microsoft.Extensions.Configuration;
using Spectre.Console;

namespace Learner.Cli;

/// <summary>The <c>experiment</c> command: the paper's comparison under the held-out protocol.</summary>
internal static class ExperimentCommand
{
    private static Option<T> Opt<T>(string name, string description, T defaultValue) => CliOption.Create(name, description, defaultValue);

    public static Command Create(CliContext cx, Option<bool> json, string[] architectures)
    {
        var cohort = new Option<string>("--cohort") { Description = "Run on a synthetic cohort: lus or mri (instead of --manifest)." }.AcceptOnlyFromAmong("lus", "mri");
        var patients = Opt("--patients", "Patients of the synthetic cohort.", 200);
        var manifest = new Option<string>("--manifest") { Description = "Run on the scans of a manifest (columns: score → pretraining target, label → coarse label, exact_score → change labels, falling back to score)." };
        var config = new Option<string>("--config") { Description = "A JSON file of experiment settings (its 'Learner' section, or the whole file; names as in ExperimentOptions). Options given on the command line override it." };
        var objectives = Opt("--objectives", "Objective specs separated by ';' (or ',' outside parentheses), e.g. \"mse; mse+0.5*weighted-contrastive(marginByGap=true)\". Grammar: docs/objectives.md.", $"mse; mse-within-patient; {ObjectiveRecipes.PaperRecipe}");
        var seeds = Opt("--seeds", "Comma-separated seeds.", "1");
        var encoder = Opt("--encoder", "Encoder (auto picks from the payload shape; cnn2d on clips reads their frames as input channels).", "auto").AcceptOnlyFromAmong(architectures);
        var dim = Opt("--dim", "Embedding dimension.", CliDefaults.Dimension);
        var preset = Commands.PresetOption();
        var width = Opt("--width", "Encoder width multiplier.", CliDefaults.Width);
        var epochs = Opt("--epochs", "Epochs per pretraining.", CliDefaults.Epochs);
        var steps = Opt("--steps", "Steps per epoch.", CliDefaults.StepsPerEpoch);
        var lr = Opt("--lr", "Peak learning rate (AdamW) for every objective. Without it (and without a rate in --config, or a search), each objective runs at the rate the library's validation search selected for it (mse 6e-3; mse-within-patient and the paper's recipe mse+3*weighted-contrastive 3e-3; the list: docs/objectives.md), any other at this default. A --config that sets ObjectiveLearningRates keeps the others at this default.", CliDefaults.LearningRate);
        var warmup = Opt("--warmup", "Warm-up steps (at most the total steps).", CliDefaults.Warmup);
        var tta = Opt("--tta", "Test-time augmentation of every embedding the classifier and metrics read: none, or flip (each scan's embedding averaged with its left-right mirror image's; pretraining unchanged). Default: a --config file's TestTimeAugmentation, else none.", "none").AcceptOnlyFromAmong("none", "flip");
        var augment = Opt("--augment", "Augment every pretraining scan: none, or default (a horizontal flip with p 0.5, brightness ±0.1, contrast ±10 %, noise σ 0.02, one draw per scan). Default: a --config file's Pretraining:Augmentation, else none.", "none").AcceptOnlyFromAmong("none", "default");
        var head = Opt("--classifier", "Change classifier: logistic or mlp.", CliDefaults.Classifier).AcceptOnlyFromAmong("logistic", "mlp");
        var threshold = CliOption.Invariant(new Option<double?>("--threshold") { Description = "Change threshold in score units (default: the synthetic cohort's; required with --manifest)." });
        var folds = Opt("--folds", "Outer patient folds: each fold's patients are held out from pretraining, selection and the classifier's fit.", 5);
        var testFraction = CliOption.Invariant(new Option<double?>("--test-fraction") { Description = "Instead of folds: hold out this share of patients once (0 < f < 1)." });
        var validation = CliOption.Invariant(new Option<double?>("--validation-fraction") { Description = "Share of each fold's training patients kept for selection and early stopping (default 0.2 with a search, else 0)." });
        var transductive = new Option<bool>("--transductive") { Description = "The old leaky mode, for comparison only: pretrain on every patient, cross-validate the classifier only. Labelled 'transductive' in every output." };
        var source = Opt("--batch-source", "Batch source: pk (P×K patient batches), pairs (inter-patient pairs, coarse-to-fine curriculum), triplets.", "pk").AcceptOnlyFromAmong("pk", "pairs", "triplets");
        var ppb = Opt("--patients-per-batch", "P of P×K batches.", CliDefaults.BatchSource.PatientsPerBatch);
        var spp = Opt("--scans-per-patient", "K of P×K batches.", CliDefaults.BatchSource.ScansPerPatient);
        var pairs = Opt("--pairs-per-batch", "Pairs per step with --batch-source pairs.", CliDefaults.BatchSource.PairsPerBatch);
        var curriculum = Opt("--curriculum", "Negative-gap schedule with pairs: none, linear, cosine, step.", "linear");
        var startGap = Opt("--curriculum-start", "Starting negative gap, in training-score standard deviations.", CliDefaults.BatchSource.CurriculumStartGap);
        var negativeGap = Opt("--negative-gap", "Final (fine) negative gap, in training-score standard deviations.", CliDefaults.BatchSource.NegativeGap);
        var trials = Opt("--search-trials", "Hyperparameter-search trials per objective and fold, scored on validation patients (0: none).", 0);
        var metric = Opt("--search-metric", "Validation metric that selects the search's trial: macroF1, accuracy, quadraticKappa, spearman (maximised) or loss (the objective on validation batches, minimised).", "macroF1").AcceptOnlyFromAmong([.. HyperparameterSearchOptions.Metrics]);
        var strategy = Opt("--search-strategy", "random or grid.", "random").AcceptOnlyFromAmong("random", "grid");
        var bootstrap = Opt("--bootstrap", "Patient-bootstrap resamples for the 95 % intervals.", CliDefaults.Experiment.BootstrapResamples);
        var concurrent = Opt("--concurrent-runs", "Folds run side by side, each on its share of the cores (the same results, sooner; more memory).", 1);
        var resume = new Option<bool>("--resume") { Description = "Continue an experiment in --out: finished folds are reused, unfinished pretrainings continue from their checkpoints." };
        var force = new Option<bool>("--force") { Description = "Replace an experiment already in --out (its results, report and runs/ are deleted first); without it, or --resume, an occupied --out is refused." };
        var output = new Option<string>("--out") { Description = "Folder for results.md, results.csv, results.json (versioned), report.html and runs/ (every fold's and trial's checkpoint; results.json names the chosen one).", Required = true };
        var cmd = new Command("experiment", """
            The paper's comparison without leakage: patients are split into outer folds first; for each objective, seed and
            fold the encoder pretrains on the fold's training patients only, the change classifier is fit on their pairs,
            and the held-out patients are predicted once. Metrics pool the held-out predictions (patient-bootstrap CIs).
            Ctrl-C writes the finished runs and stops; continue with --resume.

            Examples:
              learner experiment --cohort lus --objectives "mse; weighted-contrastive(marginByGap=true)" --seeds 1,2,3 --out runs/exp
              learner experiment --cohort lus --batch-source pairs --curriculum linear --search-trials 3 --out runs/pairs
              learner experiment --manifest data/my/manifest.csv --threshold 20 --config exp.json --out runs/mine
              learner experiment --out runs/exp --resume
            """) { cohort, patients, manifest, config, objectives, seeds, encoder, dim, width, preset, epochs, steps, lr, warmup, augment, tta, threshold, folds, testFraction, validation, transductive,
                source, ppb, spp, pairs, curriculum, startGap, negativeGap, head, trials, metric, strategy, bootstrap, concurrent, resume, force, output };
        cmd.SetAction(async (p, ct) =>
        {
            string dir = p.GetValue(output)!;
            string? c = p.GetValue(cohort), m = p.GetValue(manifest);
            string argsFile = Path.Combine(dir, "command.json");
            if (p.GetValue(resume) && c is null && m is null)
            {
                // Replay the command line saved by the run being resumed.
                if (!File.Exists(argsFile)) throw new CliException($"--resume: '{dir}' holds no command.json; give the experiment's options again, with --resume.", ExitCodes.Failed);
                var saved = System.Text.Json.JsonSerializer.Deserialize<string[]>(File.ReadAllText(argsFile)) ?? throw new CliException($"--resume: '{argsFile}' is empty.", ExitCodes.Failed);
                var flags = cx.Args.Where(a => a is "--verbose" or "--json").ToList();
                // How many folds run at a time is not a setting of the experiment: a value given now replaces the saved one.
                bool newConcurrency = ExperimentSettings.Given(p, concurrent);
                if (newConcurrency) flags.AddRange(["--concurrent-runs", p.GetValue(concurrent).ToString(CultureInfo.InvariantCulture)]);
                var replay = new List<string>();
                for (int i = 0; i < saved.Length; i++)
                {
                    string a = saved[i];
                    if (a is "--resume" or "--verbose" or "--json") continue;
                    if (newConcurrency && a == "--concurrent-runs") { i++; continue; }
                    if (newConcurrency && (a.StartsWith("--concurrent-runs=", StringComparison.Ordinal) || a.StartsWith("--concurrent-runs:", StringComparison.Ordinal))) continue;
                    replay.Add(a);
                }
                return await LearnerCli.RunAsync([.. replay, "--resume", .. flags], cx.Out, cx.Err, cx.Interactive, ct);
            }
            bool replacing = p.GetValue(force);
            if (p.GetValue(resume) && replacing) throw new CliException("--resume and --force contradict each other: --resume continues the experiment in --out, --force replaces it; give one.");
            if (!p.GetValue(resume) && !replacing && ExperimentFolder.Holds(dir))
                throw new CliException($"--out: '{dir}' already holds an experiment; pass --resume to continue it, or --force to replace it (its results, report and runs/ are deleted).", ExitCodes.Failed);
            if ((c is null) == (m is null)) throw new CliException("Give exactly one of --cohort (lus, mri) or --manifest.");
            // Options that the chosen source or protocol would not use are refused rather than silently dropped.
            if (m is not null && ExperimentSettings.Given(p, patients))
                throw new CliException($"--patients {p.GetValue(patients)} sizes a generated --cohort; with --manifest the manifest's patients are used — drop it.");
            if (ExperimentSettings.Given(p, folds) && ExperimentSettings.Given(p, testFraction))
                throw new CliException($"--folds {p.GetValue(folds)} and --test-fraction {p.GetValue(testFraction)?.ToString(CultureInfo.InvariantCulture)} are two protocols (k outer folds, or one held-out share); give one.");
            Microsoft.Extensions.Configuration.IConfiguration? section = null;
            var options = p.GetValue(config) is { } file ? ExperimentSettings.LoadConfig(file, out section) : new ExperimentOptions();
            var given = (Option o) => ExperimentSettings.Given(p, o);
            if (given(objectives) || p.GetValue(config) is null) options.Objectives = ExperimentSettings.SplitObjectives(p.GetValue(objectives)!, "--objectives");
            if (given(seeds) || p.GetValue(config) is null) options.Seeds = ExperimentSettings.ParseSeeds(p.GetValue(seeds)!);
            CliContext.Positive(p.GetValue(patients), "--patients");
            // The batch source first: the preflight asks the objectives what they need of its batches.
            var b = options.BatchSource;
            options.BatchSource = b with
            {
                Kind = given(source) ? ExperimentSettings.ParseBatchSource(p.GetValue(source)!) : b.Kind,
                PatientsPerBatch = ExperimentSettings.Pick(p, ppb, b.PatientsPerBatch),
                ScansPerPatient = ExperimentSettings.Pick(p, spp, b.ScansPerPatient),
                PairsPerBatch = ExperimentSettings.Pick(p, pairs, b.PairsPerBatch),
                CurriculumShape = given(curriculum) ? ExperimentSettings.ParseCurriculum(p.GetValue(curriculum)!) : b.CurriculumShape,
                CurriculumStartGap = ExperimentSettings.Pick(p, startGap, b.CurriculumStartGap),
                NegativeGap = ExperimentSettings.Pick(p, negativeGap, b.NegativeGap),
            };
            LongitudinalDataset data;
            double? t = p.GetValue(threshold);
            string sourceText;
            if (c is not null)
            {
                // A synthetic cohort declares its change thresholds; --threshold (or the --config file) may override them.
                ChangeThresholds declared;
                if (c == "lus")
                {
                    var lus = new SyntheticLusCohort(new SyntheticLusOptions { Patients = p.GetValue(patients), Seed = 7 });
                    (data, declared) = (lus.Dataset, lus.ChangeThresholds);
                }
                else
                {
                    var mri = new SyntheticMriCohort(new SyntheticMriOptions { Patients = p.GetValue(patients), Seed = 7 });
                    (data, declared) = (mri.Dataset, mri.ChangeThresholds);
                }
                if (t is null && section?.GetSection("ChangeThresholds").Exists() != true) options.ChangeThresholds = declared;
                sourceText = $"synthetic {c.ToUpperInvariant()} cohort (seed 7)";
            }
            else
            {
                data = cx.ReadManifest(m!, requirePayloadFiles: false);   // the preflight lists every missing file
                CheckCommand.Preflight(data, options.Objectives, options.BatchSource);
                if (t is null && section?.GetSection("ChangeThresholds").Exists() != true)
                    throw new CliException("--threshold is required with --manifest (the score change that counts as improved or worsened), unless the --config file sets ChangeThresholds.");
                sourceText = Path.GetFullPath(m!);
            }
            // A generated cohort needs no preflight (its scans are in memory and scored), but can be asked for more scans
            // per patient than it has, as a manifest can.
            if (CliMessages.ScansPerPatientWarning(data, options.BatchSource) is { } many) await cx.Err.WriteLineAsync(many);
            if (t is { } tv)
            {
                if (!(tv > 0) || double.IsInfinity(tv)) throw new CliException($"--threshold must be positive and finite, got {tv.ToString(CultureInfo.InvariantCulture)}.");
                options.ChangeThresholds = ChangeThresholds.Absolute(tv);
            }
            var run = new RunSettings
            {
                Encoder = ExperimentSettings.Pick(p, encoder, section?["Encoder:Architecture"] is null ? "auto" : options.Encoder.Architecture),
                Dimension = ExperimentSettings.Pick(p, dim, options.Encoder.EmbeddingDimension),
                Width = ExperimentSettings.Pick(p, width, options.Encoder.WidthMultiplier),
                Preset = ExperimentSettings.Pick(p, preset, options.Encoder.Preset), // --preset, else a settings file's Encoder:Preset
            };
            options.Encoder = run.EncoderOptions(data);
            var pre = options.Pretraining;
            int e = ExperimentSettings.Pick(p, epochs, pre.Epochs), s = ExperimentSettings.Pick(p, steps, pre.StepsPerEpoch);
            CliContext.Positive(e, "--epochs");
            CliContext.Positive(s, "--steps");
            double rate = ExperimentSettings.Pick(p, lr, pre.Optimizer.LearningRate);
            if (!(rate > 0) || !float.IsFinite((float)rate)) throw new CliException($"--lr must be positive and finite in float32, got {rate.ToString(CultureInfo.InvariantCulture)}.");
            int w = ExperimentSettings.Pick(p, warmup, pre.WarmupSteps);
            if (w < 0) throw new CliException($"--warmup must be ≥ 0, got {w}.");
            options.Pretraining = pre with
            {
                Epochs = e, StepsPerEpoch = s, WarmupSteps = Math.Min(w, e * s),
                Optimizer = pre.Optimizer with { LearningRate = rate },
                Augmentation = given(augment) ? (p.GetValue(augment) == "default" ? new Data.AugmentationOptions() : null) : pre.Augmentation,
            };
            if (given(tta)) options.TestTimeAugmentation = p.GetValue(tta) == "flip" ? Downstream.TestTimeAugmentation.Flip : Downstream.TestTimeAugmentation.None;
            var protocol = options.Protocol;
            protocol.OuterFolds = ExperimentSettings.Pick(p, folds, protocol.OuterFolds);
            if (given(testFraction)) protocol.TestFraction = p.GetValue(testFraction);
            if (given(validation)) protocol.ValidationFraction = p.GetValue(validation);
            if (given(transductive)) protocol.Transductive = p.GetValue(transductive);
            var search = options.Search;
            search.Trials = ExperimentSettings.Pick(p, trials, search.Trials);
            search.Metric = ExperimentSettings.Pick(p, metric, search.Metric);
            if (given(strategy)) search.Strategy = p.GetValue(strategy) == "grid" ? SearchStrategy.Grid : SearchStrategy.Random;
            // Every objective at its own selected settings, as the library's comparisons run them — unless a rate was
            // asked for (--lr, a rate or the switch in --config) or a search draws the rates.
            if (given(lr)) options.UseSelectedLearningRates = false; // --lr is every objective's rate
            else if (search.Trials == 0 && section?["Pretraining:Optimizer:LearningRate"] is null && section?[nameof(ExperimentOptions.UseSelectedLearningRates)] is null
                && section?.GetSection(nameof(ExperimentOptions.ObjectiveLearningRates)).Exists() != true)
                options.UseSelectedLearningRates = true;
            options.BootstrapResamples = ExperimentSettings.Pick(p, bootstrap, options.BootstrapResamples);
            CliContext.Positive(options.BootstrapResamples, "--bootstrap");
            CliContext.Positive(p.GetValue(concurrent), "--concurrent-runs");
            if (given(head)) options.Classifier = options.Classifier with { Head = p.GetValue(head) == "mlp" ? Downstream.ChangeHead.Mlp : Downstream.ChangeHead.LogisticRegression };
            try { options.Validate(); }
            catch (ArgumentException ex) { throw new CliException(CliMessages.Clean(ex)); }

            bool quiet = p.GetValue(json);
            bool exact = data.Scans.Any(sc => sc.ExactScore is not null);
            string columns = $"score → pretraining targets{(data.Scans.All(sc => !sc.HasScore) ? " (none: label-only)" : "")}; label → coarse labels{(data.Scans.Any(sc => sc.CoarseLabel is null) ? " (missing: quartiles of each fold's training scores)" : "")}; {(exact ? "exact_score" : "score")} → change labels";
            var thresholds = options.ChangeThresholds ?? throw new CliException("--threshold: no change threshold is set.");
            string change = thresholds.Improvement == thresholds.Worsening ? $"±{thresholds.Improvement.ToString(CultureInfo.InvariantCulture)}" : $"+{thresholds.Improvement.ToString(CultureInfo.InvariantCulture)} / −{thresholds.Worsening.ToString(CultureInfo.InvariantCulture)}";
            string description = $"{sourceText}: {CliMessages.Count(data.PatientCount, "patient")}, {CliMessages.Count(data.ScanCount, "scan")}; change threshold {change}{(thresholds.Mode == ThresholdMode.Relative ? " (relative)" : "")}; {columns}.";
            var experiment = new LearnerExperiment(options);
            if (!quiet)
            {
                cx.Out.WriteLine(description);
                cx.Out.WriteLine($"Protocol: {options.Protocol.Name}{(options.Protocol.Transductive ? " — NOT a held-out evaluation: pretraining sees every evaluated patient" : "")}; {options.Objectives.Count} objective(s) × {options.Seeds.Count} seed(s).");
            }
            // Only now, with every setting valid and the data read, is an old experiment replaced.
            if (replacing) ExperimentFolder.Delete(dir);
            Directory.CreateDirectory(dir);
            if (!p.GetValue(resume)) File.WriteAllText(argsFile, System.Text.Json.JsonSerializer.Serialize(cx.Args.ToArray()));
            var runOptions = new ExperimentRunOptions
            {
                OutputDirectory = dir, Resume = p.GetValue(resume), DatasetDescription = description, ConcurrentRuns = p.GetValue(concurrent),
                CommandLine = "learner " + string.Join(' ', cx.Args.Select(a => a.Contains(' ', StringComparison.Ordinal) || a.Length == 0 ? $"\"{a}\"" : a)),
            };
            var reporter = new ConsoleProgressReporter(cx.Out);
            IProgress<string>? lines = quiet ? null : reporter;
            ExperimentResults results;
            try
            {
                results = cx.Interactive && !quiet
                    ? await Task.Run(() => WithBar(cx, experiment, data, runOptions, ct), CancellationToken.None)
                    : await Task.Run(() => experiment.Run(data, runOptions, lines, quiet ? null : reporter, ct), CancellationToken.None);
            }
            catch (ExperimentCancelledException cancelled)
            {
                Write(dir, cancelled.Partial, description);
                await cx.Err.WriteLineAsync($"learner: cancelled after {cancelled.Partial.Rows.Count} finished run(s); partial results in '{dir}'. Continue with: learner experiment --out {dir} --resume (and the same options).");
                return ExitCodes.Cancelled;
            }
            Write(dir, results, description);
            if (quiet) cx.Out.WriteLine(results.ToJson());
            else
            {
                cx.Out.WriteLine(results.ToMarkdown());
                cx.Out.WriteLine($"Wrote results.md, results.csv, results.json and report.html to {dir} (every fold's and trial's checkpoint under {Path.Combine(dir, "runs")}; results.json names each fold's chosen trial).");
            }
            return ExitCodes.Ok;
        });
        return cmd;
    }

    private static void Write(string dir, ExperimentResults results, string description)
    {
        File.WriteAllText(Path.Combine(dir, "results.md"), results.ToMarkdown());
        File.WriteAllText(Path.Combine(dir, "results.csv"), results.ToCsv());
        ExperimentResultsFile.Write(Path.Combine(dir, "results.json"), results);
        HtmlReport.Write(Path.Combine(dir, "report.html"), results, ReportFor(results, description));
    }

    /// <summary>The report's title, description and settings from the results' metadata.</summary>
    public static ReportOptions ReportFor(ExperimentResults results, string? description = null) => new()
    {
        Title = results.Metadata.Protocol == "transductive" ? "Learner experiment (transductive: not held out)" : "Learner experiment",
        Description = description ?? results.Metadata.Dataset,
        Settings = results.Metadata.Settings.ToArray(),
    };

    private static ExperimentResults WithBar(CliContext cx, LearnerExperiment experiment, LongitudinalDataset data, ExperimentRunOptions run, CancellationToken ct)
    {
        ExperimentResults? results = null;
        cx.Console.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx =>
            {
                var total = ctx.AddTask("experiment", maxValue: 1);
                var lines = new Relay<string>(line => cx.Console.MarkupLine(Markup.Escape(line)));
                results = experiment.Run(data, run, lines, new Relay<ExperimentStep>(step =>
                {
                    total.MaxValue = Math.Max(1, step.TotalSteps);
                    total.Value = step.CompletedSteps;
                    total.Description = Markup.Escape(string.Create(CultureInfo.InvariantCulture, $"{step.Position}: step {step.Training.Step}/{step.Training.TotalSteps}, loss {step.Training.Loss:F4}"));
                }), ct);
            });
        return results!;
    }
}
