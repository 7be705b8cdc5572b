using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Learner.Encoders;
using Learner.Experiments;
using Learner.Objectives;
using Learner.Reporting;
using Learner.Training;
using Spectre.Console;

namespace Learner.Cli;

// The pretrain command (and resuming a run from its saved settings); the other commands and the shared option helpers are in Commands.cs.
internal static partial class Commands
{
    // ---------------------------------------------------------------- pretrain
    public static Command Pretrain(CliContext cx, Option<bool> json)
    {
        var manifest = new Option<string>("--manifest") { Description = "The training manifest CSV (scan_id, patient_id, time, score, label, path)." };
        var output = Req("--out", "Run folder: run.json (settings), log.jsonl (progress), last.safetensors and head files.");
        var objective = Opt("--objective", "An objective spec: a registered name with options, or a weighted sum, e.g. \"mse+0.5*weighted-contrastive(marginByGap=true)\" (grammar: docs/objectives.md).", ObjectiveRecipes.PaperRecipe);
        var config = new Option<string>("--config") { Description = "A JSON file of settings (the 'Learner' section or the whole file, as for experiment): its first objective, Encoder, BatchSource, and the Pretraining budget (Epochs, StepsPerEpoch, WarmupSteps, CheckpointEverySteps, Optimizer:LearningRate) and Augmentation; other keys are reported as ignored. Command-line options override it." };
        var source = Opt("--batch-source", "Batch source: pk (P×K patient batches), pairs (inter-patient pairs with a coarse-to-fine curriculum), triplets.", "pk").AcceptOnlyFromAmong("pk", "pairs", "triplets");
        var pairs = Opt("--pairs-per-batch", "Pairs per step with --batch-source pairs.", CliDefaults.BatchSource.PairsPerBatch);
        var curriculum = Opt("--curriculum", "Negative-gap schedule with pairs: none, linear, cosine, step.", "linear");
        var startGap = Opt("--curriculum-start", "Starting negative gap with pairs, in training-score standard deviations.", CliDefaults.BatchSource.CurriculumStartGap);
        var negativeGap = Opt("--negative-gap", "Final (fine) negative gap with pairs or triplets, in training-score standard deviations.", CliDefaults.BatchSource.NegativeGap);
        var encoder = Opt("--encoder", "Encoder: auto (from the payload shape: features → mlp, frames → cnn2d, short clips → tsm-resnet, volumes → volume) or one of mlp, cnn2d, tsm-resnet, volume; cnn2d on clips [T, H, W] reads the T frames as input channels (about a tenth of tsm-resnet's cost per step).", "auto").AcceptOnlyFromAmong(Architectures);
        var dim = Opt("--dim", "Embedding dimension.", CliDefaults.Dimension);
        var width = Opt("--width", "Encoder width multiplier.", CliDefaults.Width);
        var preset = PresetOption();
        var epochs = Opt("--epochs", "Epochs.", CliDefaults.Epochs);
        var steps = Opt("--steps", "Optimizer steps per epoch.", CliDefaults.StepsPerEpoch);
        var ppb = Opt("--patients-per-batch", "Patients per batch.", CliDefaults.BatchSource.PatientsPerBatch);
        var spp = Opt("--scans-per-patient", "Scans per patient in a batch.", CliDefaults.BatchSource.ScansPerPatient);
        var lr = Opt("--lr", "Peak learning rate (AdamW). Default: the rate the library's validation search selected for the objective (3e-3 for the paper's recipe and mse-within-patient; the list: docs/objectives.md), else this.", CliDefaults.LearningRate);
        var warmup = Opt("--warmup", "Warm-up steps.", CliDefaults.Warmup);
        var seed = Opt("--seed", "Seed (initialisation and batch order).", 1);
        var normalize = Opt("--normalize", "Per-scan input normalisation: zscore (each clip or volume to mean 0, sd 1; feature vectors unchanged) or none. Recorded in run.json and the checkpoints; embed applies the same.", "zscore").AcceptOnlyFromAmong("zscore", "none");
        var augment = Opt("--augment", "Augment every training scan: none, or default (a horizontal flip with p 0.5, brightness ±0.1, contrast ±10 %, noise σ 0.02, one draw per scan). A settings file's Pretraining:Augmentation section sets each of these, a crop, a shift and SharedWithinPatient. Recorded in run.json.", "none").AcceptOnlyFromAmong("none", "default");
        var every = Opt("--checkpoint-every", "Checkpoint every this many steps (and always at the end and on Ctrl-C).", CliDefaults.CheckpointEvery);
        var resume = new Option<bool>("--resume") { Description = "Continue the run in --out from its last checkpoint, with the settings in its run.json (options that contradict them are refused; --checkpoint-every may change)." };
        var scalars = new Option<string>("--scalars") { Description = "Also write the training curves as a CSV of scalars (time, step, epoch, tag, value: loss, lr, each objective term), appended to on --resume." };
        var force = new Option<bool>("--force") { Description = "Replace the run already in --out (its run.json, log, checkpoints and head files are deleted)." };
        var cmd = new Command("pretrain", """
            Pretrain an encoder on a manifest with one objective spec (a name with options, or a weighted sum such as
            "mse+0.5*weighted-contrastive(marginByGap=true)"). Columns: score → pretraining targets, label → coarse labels
            (label-only objectives need no score). Evaluate on other patients: this command trains on every scan given.
            Ctrl-C stops after the current step and leaves a checkpoint; continue with --resume.

            Examples:
              learner pretrain --manifest data/lus/manifest.csv --objective weighted-contrastive --epochs 3 --out runs/wc
              learner pretrain --manifest data/lus/manifest.csv --objective "weighted-contrastive(marginByGap=true)" --batch-source pairs --out runs/pairs
              learner pretrain --manifest data/labels.csv --objective supcon --config exp.json --out runs/supcon
              learner pretrain --out runs/wc --resume
            """) { manifest, output, objective, config, encoder, dim, width, preset, epochs, steps, ppb, spp, source, pairs, curriculum, startGap, negativeGap, lr, warmup, seed, normalize, augment, every, resume, force, scalars };
        cmd.SetAction(async (p, ct) =>
        {
            string dir = p.GetValue(output)!;
            RunSettings settings;
            bool resuming = p.GetValue(resume), replacing = p.GetValue(force);
            if (resuming && replacing) throw new CliException("--resume and --force contradict each other: --resume continues the run in --out, --force replaces it; give one.");
            if (!resuming && !replacing && RunFiles.HoldsRun(dir))
                throw new CliException($"--out: '{dir}' already holds a run; pass --resume to continue it, or --force to replace it (its checkpoints and log are deleted).", ExitCodes.Failed);
            if (resuming)
            {
                string runFile = Path.Combine(dir, RunSettings.FileName);
                if (!File.Exists(runFile)) throw new CliException($"--resume: '{dir}' holds no {RunSettings.FileName}; there is no run to resume there.", ExitCodes.Failed);
                settings = RunSettings.Read(runFile);
                if (!File.Exists(Path.Combine(dir, "last.safetensors"))) throw new CliException($"--resume: '{dir}' holds no last.safetensors yet; start the run again with --force.", ExitCodes.Failed);
                settings = ResumeSettings(p, settings, runFile, manifest, objective, config, encoder, dim, width, preset, epochs, steps, ppb, spp, source, pairs, curriculum, startGap, negativeGap, lr, warmup, seed, every, normalize, augment);
            }
            else
            {
                string? m = p.GetValue(manifest) ?? throw new CliException("--manifest is required (unless --resume).");
                Microsoft.Extensions.Configuration.IConfiguration? section = null;
                var fromConfig = p.GetValue(config) is { } file ? ExperimentSettings.LoadConfig(file, out section) : null;
                T Pick<T>(Option<T> o, Func<ExperimentOptions, T> fromFile) => fromConfig is null || ExperimentSettings.Given(p, o) ? p.GetValue(o)! : fromFile(fromConfig);
                // The file's first objective only where the file names objectives (ExperimentOptions' own default list starts with
                // plain mse, which is not pretrain's default).
                string spec = fromConfig is null || ExperimentSettings.Given(p, objective)
                    || !Microsoft.Extensions.Configuration.ConfigurationExtensions.Exists(section!.GetSection(nameof(ExperimentOptions.Objectives)))
                    ? p.GetValue(objective)! : fromConfig.Objectives[0];
                settings = new RunSettings
                {
                    Manifest = Path.GetFullPath(m), Delimiter = cx.Delimiter, Objective = ExperimentSettings.SplitObjectives(spec, "--objective") is [var one] ? one : throw new CliException("--objective: give one objective spec (use '+' for a weighted sum)."),
                    Encoder = Pick(encoder, c => section!["Encoder:Architecture"] is null ? "auto" : c.Encoder.Architecture),
                    Dimension = Pick(dim, c => c.Encoder.EmbeddingDimension), Width = Pick(width, c => c.Encoder.WidthMultiplier),
                    Preset = Pick(preset, c => c.Encoder.Preset),
                    Epochs = Pick(epochs, c => c.Pretraining.Epochs), StepsPerEpoch = Pick(steps, c => c.Pretraining.StepsPerEpoch),
                    // The objective's selected rate unless a rate is given (--lr, or the settings file's optimizer rate) or the
                    // settings file turns the selected rates off.
                    LearningRate = ExperimentSettings.Given(p, lr) || section?["Pretraining:Optimizer:LearningRate"] is not null
                        || (section?[nameof(ExperimentOptions.UseSelectedLearningRates)] is not null && fromConfig?.UseSelectedLearningRates == false)
                        ? Pick(lr, c => c.Pretraining.Optimizer.LearningRate)
                        : SelectedRate(spec) ?? p.GetValue(lr), Warmup = Pick(warmup, c => c.Pretraining.WarmupSteps), Seed = p.GetValue(seed),
                    CheckpointEvery = Pick(every, c => c.Pretraining.CheckpointEverySteps),
                    Source = (fromConfig?.BatchSource ?? new BatchSourceOptions()) with
                    {
                        Kind = ExperimentSettings.ParseBatchSource(Pick(source, c => ExperimentSettings.Name(c.BatchSource.Kind))),
                        PatientsPerBatch = Pick(ppb, c => c.BatchSource.PatientsPerBatch), ScansPerPatient = Pick(spp, c => c.BatchSource.ScansPerPatient),
                        PairsPerBatch = Pick(pairs, c => c.BatchSource.PairsPerBatch),
                        CurriculumShape = ExperimentSettings.ParseCurriculum(Pick(curriculum, c => c.BatchSource.CurriculumShape.ToString().ToLowerInvariant())),
                        CurriculumStartGap = Pick(startGap, c => c.BatchSource.CurriculumStartGap), NegativeGap = Pick(negativeGap, c => c.BatchSource.NegativeGap),
                    },
                    Normalize = p.GetValue(normalize),
                    Augmentation = ExperimentSettings.Given(p, augment) || fromConfig is null
                        ? (p.GetValue(augment) == "default" ? new Data.AugmentationOptions() : null)
                        : fromConfig.Pretraining.Augmentation,
                };
                // A warm-up longer than the run never reaches the peak rate: clamp it to the run's steps, as experiment does
                // (run.json records the warm-up that ran).
                long total = (long)settings.Epochs * settings.StepsPerEpoch;
                if (total >= 1 && settings.Warmup > total) settings = settings with { Warmup = (int)total };
                if (section is not null)
                {
                    // pretrain reads only these keys of a settings file; say which others it ignores rather than drop them silently.
                    string[] used = ["Objectives", "Encoder:Architecture", "Encoder:EmbeddingDimension", "Encoder:WidthMultiplier", "Encoder:Preset", "Pretraining:Epochs", "Pretraining:StepsPerEpoch",
                        "Pretraining:WarmupSteps", "Pretraining:CheckpointEverySteps", "Pretraining:Optimizer:LearningRate", "Pretraining:Augmentation", "BatchSource"];
                    var ignored = Microsoft.Extensions.Configuration.ConfigurationExtensions.AsEnumerable(section, makePathsRelative: true).Where(kv => kv.Value is not null)
                        .Select(kv => kv.Key).Where(k => !used.Any(u => k.Equals(u, StringComparison.OrdinalIgnoreCase) || k.StartsWith(u + ":", StringComparison.OrdinalIgnoreCase)))
                        .Order(StringComparer.Ordinal).ToList();
                    if (ignored.Count > 0)
                        await cx.Err.WriteLineAsync($"learner: --config: pretrain ignores {string.Join(", ", ignored)} (experiment settings; pretrain uses the objective, Encoder, BatchSource and the Pretraining budget, learning rate and augmentation).");
                }
            }
            // Missing payload files are listed by the preflight with every other problem, not raised at the first one.
            var data = cx.ReadManifest(settings.Manifest, settings.Delimiter, requirePayloadFiles: false);
            CheckCommand.Preflight(data, [settings.Objective], settings.Batches);
            // run.json records the encoder actually built ("auto" resolved from the payload shape), which embed reads back.
            settings = settings.Resolved(data);
            var (pretrainer, enc) = settings.CreatePretrainer(data, dir);
            if (CliMessages.ScansPerPatientWarning(data, settings.Batches) is { } many) await cx.Err.WriteLineAsync(many);
            // Only now, with every setting valid, is an old run replaced or a killed one repaired.
            if (replacing) RunFiles.DeleteRun(dir);
            Directory.CreateDirectory(dir);
            string logFile = Path.Combine(dir, "log.jsonl");
            long checkpointStep = 0;
            double? loggedLoss = null;
            if (resuming)
            {
                RunFiles.RemoveStaleTemporaryFiles(dir);
                checkpointStep = Pretrainer.ReadCheckpointStep(Path.Combine(dir, "last.safetensors"));
                var (torn, after) = RunFiles.RepairLog(logFile, checkpointStep);
                if (torn + after > 0)
                    await cx.Err.WriteLineAsync($"learner: {logFile}: dropped {torn} torn line(s) and {after} line(s) for steps after the checkpoint's step {checkpointStep} (left by an interrupted run).");
                loggedLoss = RunFiles.LastLoss(logFile);
            }
            settings.Write(Path.Combine(dir, RunSettings.FileName));
            // One write and one flush per line: a killed process loses at most the line being written.
            await using var log = new StreamWriter(new FileStream(logFile, resuming ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.Read, bufferSize: 4096)) { AutoFlush = false };
            bool quiet = p.GetValue(json);
            using var scalarLog = p.GetValue(scalars) is { } scalarFile ? new CsvScalarLogger(scalarFile, append: resuming) : null;
            // A complete run says so once, after the checkpoint has been checked against the settings (below).
            if (resuming && !quiet && checkpointStep < settings.TotalSteps)
                await cx.Out.WriteLineAsync($"Resuming from step {checkpointStep} of {settings.TotalSteps} ({Path.Combine(dir, "last.safetensors")}).");
            var clock = Stopwatch.StartNew();
            PretrainingResult result;
            try
            {
                result = await Task.Run(() => RunWithProgress(cx, quiet, settings.Objective, settings.TotalSteps, progress =>
                {
                    var sink = CsvScalarLogger.Combine(progress, scalarLog);
                    return resuming ? pretrainer.Resume(Path.Combine(dir, "last.safetensors"), sink, ct) : pretrainer.Run(sink, ct);
                }, log), CancellationToken.None);
            }
            catch (OperationCanceledException)
            {
                await log.FlushAsync(CancellationToken.None);
                await cx.Err.WriteLineAsync($"learner: cancelled; the checkpoint in '{dir}' is resumable: learner pretrain --out {dir} --resume");
                return ExitCodes.Cancelled;
            }
            // A resumed run that was already complete writes no new checkpoint: name the one it resumed from.
            string checkpoint = string.IsNullOrEmpty(result.LastCheckpoint) ? Path.Combine(dir, "last.safetensors") : result.LastCheckpoint;
            long ran = result.CompletedSteps - checkpointStep;
            if (quiet)
                cx.WriteJson(new { run = Path.GetFullPath(dir), steps = result.CompletedSteps, stepsRun = ran, resumedFrom = resuming ? checkpointStep : (long?)null, alreadyComplete = resuming && ran == 0, finalLoss = result.Losses.Count > 0 ? result.Losses[^1] : loggedLoss ?? double.NaN, checkpoint = Path.GetFullPath(checkpoint), seconds = clock.Elapsed.TotalSeconds, dataWaitSeconds = result.DataWait.TotalSeconds, dataWaitShare = result.DataWaitShare, normalization = pretrainer.InputNormalization.ToString(), encoder = enc.Name });
            else if (resuming && ran == 0)
                cx.Out.WriteLine($"The run in '{dir}' is already complete: {enc.Name} with {settings.Objective}, {CliMessages.Count(result.CompletedSteps, "step")}{(loggedLoss is { } fl ? string.Create(CultureInfo.InvariantCulture, $", final loss {fl:F4}") : "")}; nothing to resume. Checkpoint {checkpoint}.");
            else
                cx.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Pretrained {enc.Name} with {settings.Objective}: {CliMessages.Count(ran, "step")} in {clock.Elapsed.TotalSeconds:F1} s{(resuming ? $" (steps {checkpointStep + 1}–{result.CompletedSteps} of {result.CompletedSteps})" : "")}, {100 * result.DataWaitShare:F1} % of it waiting for data; checkpoint {checkpoint}."));
            return ExitCodes.Ok;
        });
        return cmd;
    }

    private static PretrainingResult RunWithProgress(CliContext cx, bool quiet, string label, long total, Func<IProgress<TrainingProgress>, PretrainingResult> run, StreamWriter log)
    {
        void Log(TrainingProgress t)
        {
            // One JSON object per step, with the UTC time it finished (ISO 8601); non-finite numbers are null.
            log.Write(JsonSerializer.Serialize(new { time = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture), epoch = t.Epoch, step = t.Step, loss = t.Loss, lr = t.LearningRate, terms = t.Terms.ToDictionary(k => k.Key, k => k.Value), parts = t.Parts.Count == 0 ? null : t.Parts.ToDictionary(k => k.Key, k => k.Value), mining = CsvScalarLogger.MiningRows(t.Mining).ToDictionary(r => r.Tag["mining/".Length..], r => r.Value) is { Count: > 0 } m ? m : null }, Reporting.NonFiniteAsNullJsonConverter.Compact) + "\n");
            log.Flush();
        }
        if (cx.Interactive && !quiet)
        {
            PretrainingResult? result = null;
            cx.Console.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask(Markup.Escape(label), maxValue: total);
                    result = run(new Relay<TrainingProgress>(t =>
                    {
                        Log(t);
                        task.Value = t.Step;
                        task.Description = Markup.Escape(string.Create(CultureInfo.InvariantCulture, $"{label} epoch {t.Epoch}, step {t.Step}/{t.TotalSteps}, loss {t.Loss:F4}"));
                    }));
                });
            return result!;
        }
        return run(new Relay<TrainingProgress>(t =>
        {
            Log(t);
            bool epochEnd = t.Step == t.TotalSteps || t.Validation is not null || t.Step % Math.Max(1, t.TotalSteps / 10) == 0;
            if (!quiet && epochEnd)
                cx.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"step {t.Step}/{t.TotalSteps} epoch {t.Epoch}: loss {t.Loss:F4}, lr {t.LearningRate:G3}, {t.StepsPerSecond:F1} steps/s, ETA {t.Eta:mm\\:ss}"));
        }));
    }

    /// <summary>The selected rate of an objective spec (null when none was selected, or when the spec does not parse:
    /// the objective's own check reports that).</summary>
    private static double? SelectedRate(string spec)
    {
        try { return ObjectiveRecipes.SelectedLearningRate(ObjectiveSpec.Parse(spec)); }
        catch (ObjectiveSpecException) { return null; }
    }

    /// <summary>--preset, shared by pretrain and experiment: the backbone preset (<see cref="EncoderOptions.Preset"/>).</summary>
    internal static Option<string> PresetOption() =>
        new Option<string>("--preset")
        {
            Description = "Backbone preset: small (the default; TSM-ResNet widths 8-16-32-64, trains on 2 cores) or resnet18 (the paper's backbone: ResNet-18's widths behind the ImageNet stem; tsm-resnet only). A settings file's Encoder:Preset gives it too.",
            DefaultValueFactory = _ => "small",
        }.AcceptOnlyFromAmong([.. EncoderOptions.Presets]);

    /// <summary>The saved settings of a run being resumed. Options given on the command line must agree with them: a
    /// resumed run continues the run it started as (another budget, schedule, seed or batch shape would change the batches
    /// and the learning rate of the remaining steps, so the result would match no uninterrupted run). Only
    /// --checkpoint-every, which changes no step, is applied (and saved).</summary>
    private static RunSettings ResumeSettings(ParseResult p, RunSettings saved, string runFile, Option<string> manifest, Option<string> objective, Option<string> config,
        Option<string> encoder, Option<int> dim, Option<double> width, Option<string> preset, Option<int> epochs, Option<int> steps, Option<int> ppb, Option<int> spp, Option<string> source,
        Option<int> pairs, Option<string> curriculum, Option<double> startGap, Option<double> negativeGap, Option<double> lr, Option<int> warmup, Option<int> seed, Option<int> every, Option<string> normalize,
        Option<string> augment)
    {
        var conflicts = new List<string>();
        void Check<T>(Option<T> option, T savedValue, string field, Func<T, T>? normalize = null)
        {
            if (!ExperimentSettings.Given(p, option)) return;
            T given = p.GetValue(option)!;
            if (normalize is not null) given = normalize(given);
            if (!EqualityComparer<T>.Default.Equals(given, savedValue))
                conflicts.Add(string.Create(CultureInfo.InvariantCulture, $"{option.Name} {given} (run.json: {field} = {savedValue})"));
        }
        Check(manifest, saved.Manifest, nameof(RunSettings.Manifest), Path.GetFullPath);
        Check(objective, saved.Objective, nameof(RunSettings.Objective));
        Check(encoder, saved.Encoder, nameof(RunSettings.Encoder), given => given == "auto" ? saved.Encoder : given); // run.json holds what auto resolved to
        Check(dim, saved.Dimension, nameof(RunSettings.Dimension));
        Check(width, saved.Width, nameof(RunSettings.Width));
        Check(preset, saved.Preset, nameof(RunSettings.Preset));
        Check(epochs, saved.Epochs, nameof(RunSettings.Epochs));
        Check(steps, saved.StepsPerEpoch, nameof(RunSettings.StepsPerEpoch));
        var batches = saved.Batches;
        Check(ppb, batches.PatientsPerBatch, "Source.PatientsPerBatch");
        Check(spp, batches.ScansPerPatient, "Source.ScansPerPatient");
        Check(source, ExperimentSettings.Name(batches.Kind), "Source.Kind");
        Check(pairs, batches.PairsPerBatch, "Source.PairsPerBatch");
        Check(curriculum, batches.CurriculumShape.ToString().ToLowerInvariant(), "Source.CurriculumShape");
        Check(startGap, batches.CurriculumStartGap, "Source.CurriculumStartGap");
        Check(negativeGap, batches.NegativeGap, "Source.NegativeGap");
        Check(normalize, saved.Normalize ?? "none", nameof(RunSettings.Normalize));
        Check(lr, saved.LearningRate, nameof(RunSettings.LearningRate));
        Check(warmup, saved.Warmup, nameof(RunSettings.Warmup));
        Check(seed, saved.Seed, nameof(RunSettings.Seed));
        Check(augment, saved.Augmentation is null ? "none" : saved.Augmentation == new Data.AugmentationOptions() ? "default" : saved.Augmentation.Describe(), nameof(RunSettings.Augmentation));
        if (ExperimentSettings.Given(p, config)) conflicts.Add($"{config.Name} {p.GetValue(config)} (a resumed run takes its settings from run.json only)");
        if (conflicts.Count > 0)
            throw new CliException($"--resume: {string.Join("; ", conflicts)} contradict{(conflicts.Count == 1 ? "s" : "")} the saved {runFile}. A resumed run continues with the settings it started with; drop these options, or start a new run with --force. (--checkpoint-every may change on resume.)");
        return ExperimentSettings.Given(p, every) ? saved with { CheckpointEvery = p.GetValue(every) } : saved;
    }
}
