using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Learner.Data;
using Learner.Data.Formats;
using Learner.Data.Synthetic;
using Learner.Downstream;
using Learner.Encoders;
using Learner.Experiments;
using Learner.Metrics;
using Learner.Nn;
using Learner.Reporting;
using Learner.Sampling;
using Learner.Training;
using Spectre.Console;

namespace Learner.Cli;

/// <summary>The subcommands.</summary>
internal static class Commands
{
    internal static readonly string[] Architectures = ["auto", .. EncoderOptions.Architectures];

    private static Option<T> Opt<T>(string name, string description, T defaultValue) =>
        new(name) { Description = description, DefaultValueFactory = _ => defaultValue };

    private static Option<string> Req(string name, string description) => new(name) { Description = description, Required = true };

    // ---------------------------------------------------------------- synth
    public static Command Synth(CliContext cx, Option<bool> json)
    {
        var cohort = Opt("--cohort", "Which cohort: lus (clips, written as NPY) or mri (volumes, written as NIfTI).", "lus").AcceptOnlyFromAmong("lus", "mri");
        var patients = Opt("--patients", "Number of patients.", 200);
        var visits = Opt("--visits", "Visits per patient.", 3);
        var seed = Opt("--seed", "Cohort seed.", 7);
        var output = Req("--out", "Folder to write manifest.csv and the payload files into (created).");
        var cmd = new Command("synth", """
            Write a synthetic cohort to disk: manifest.csv plus one payload file per scan.

            Examples:
              learner synth --cohort lus --patients 60 --out data/lus
              learner synth --cohort mri --patients 100 --seed 3 --out data/mri
            """) { cohort, patients, visits, seed, output };
        cmd.SetAction(p =>
        {
            string dir = p.GetValue(output)!;
            int n = p.GetValue(patients), v = p.GetValue(visits), s = p.GetValue(seed);
            CliContext.Positive(n, "--patients");
            CliContext.Positive(v, "--visits");
            Directory.CreateDirectory(Path.Combine(dir, "scans"));
            bool lus = p.GetValue(cohort) == "lus";
            var data = lus
                ? SyntheticLusCohort.Generate(new SyntheticLusOptions { Patients = n, VisitsPerPatient = v, Seed = (ulong)s })
                : SyntheticMriCohort.Generate(new SyntheticMriOptions { Patients = n, VisitsPerPatient = v, Seed = (ulong)s });
            var paths = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var scan in data.Scans)
            {
                using var scope = TensorScope.Begin();
                var payload = scan.LoadPayload();
                string safe = string.Concat(scan.Id.Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' ? c : '_'));
                string file = Path.Combine(dir, "scans", safe + (lus ? ".npy" : ".nii.gz"));
                if (lus) Npy.Write(file, payload);
                else Nifti.Write(file, payload);
                paths[scan.Id] = Path.GetFullPath(file);
            }
            string manifest = Path.Combine(dir, "manifest.csv");
            Manifest.Write(manifest, data, sc => paths[sc.Id]);
            double threshold = lus ? new SyntheticLusOptions().ChangeThreshold : new SyntheticMriOptions().ChangeThreshold;
            if (p.GetValue(json))
                cx.WriteJson(new { manifest = Path.GetFullPath(manifest), patients = data.PatientCount, scans = data.ScanCount, changeThreshold = threshold });
            else
                cx.Out.WriteLine($"Wrote {CliMessages.Count(data.ScanCount, "scan")} of {CliMessages.Count(data.PatientCount, "patient")} and {manifest} (change threshold for evaluate: {threshold.ToString(CultureInfo.InvariantCulture)}).");
            return ExitCodes.Ok;
        });
        return cmd;
    }

    // ---------------------------------------------------------------- pretrain
    public static Command Pretrain(CliContext cx, Option<bool> json)
    {
        var manifest = new Option<string>("--manifest") { Description = "The training manifest CSV (scan_id, patient_id, time, score, label, path)." };
        var output = Req("--out", "Run folder: run.json (settings), log.jsonl (progress), last.safetensors and head files.");
        var objective = Opt("--objective", "An objective spec: a registered name with options, or a weighted sum, e.g. \"mse+0.5*weighted-contrastive(marginByGap=true)\" (grammar: docs/objectives.md).", "mse+weighted-contrastive");
        var config = new Option<string>("--config") { Description = "A JSON file of settings (the 'Learner' section or the whole file, as for experiment): its first objective, Encoder, BatchSource, and the Pretraining budget (Epochs, StepsPerEpoch, WarmupSteps, CheckpointEverySteps, Optimizer:LearningRate); other keys are reported as ignored. Command-line options override it." };
        var source = Opt("--batch-source", "Batch source: pk (P×K patient batches), pairs (inter-patient pairs with a coarse-to-fine curriculum), triplets.", "pk").AcceptOnlyFromAmong("pk", "pairs", "triplets");
        var pairs = Opt("--pairs-per-batch", "Pairs per step with --batch-source pairs.", CliDefaults.BatchSource.PairsPerBatch);
        var curriculum = Opt("--curriculum", "Negative-gap schedule with pairs: none, linear, cosine, step.", "linear");
        var startGap = Opt("--curriculum-start", "Starting negative gap with pairs, in training-score standard deviations.", CliDefaults.BatchSource.CurriculumStartGap);
        var negativeGap = Opt("--negative-gap", "Final (fine) negative gap with pairs or triplets, in training-score standard deviations.", CliDefaults.BatchSource.NegativeGap);
        var encoder = Opt("--encoder", "Encoder: auto (from the payload shape: features → mlp, frames → cnn2d, short clips → tsm-resnet, volumes → volume) or one of mlp, cnn2d, tsm-resnet, volume.", "auto").AcceptOnlyFromAmong(Architectures);
        var dim = Opt("--dim", "Embedding dimension.", CliDefaults.Dimension);
        var width = Opt("--width", "Encoder width multiplier.", CliDefaults.Width);
        var preset = PresetOption();
        var epochs = Opt("--epochs", "Epochs.", CliDefaults.Epochs);
        var steps = Opt("--steps", "Optimizer steps per epoch.", CliDefaults.StepsPerEpoch);
        var ppb = Opt("--patients-per-batch", "Patients per batch.", CliDefaults.BatchSource.PatientsPerBatch);
        var spp = Opt("--scans-per-patient", "Scans per patient in a batch.", CliDefaults.BatchSource.ScansPerPatient);
        var lr = Opt("--lr", "Peak learning rate (AdamW).", CliDefaults.LearningRate);
        var warmup = Opt("--warmup", "Warm-up steps.", CliDefaults.Warmup);
        var seed = Opt("--seed", "Seed (initialisation and batch order).", 1);
        var normalize = Opt("--normalize", "Per-scan input normalisation: zscore (each clip or volume to mean 0, sd 1; feature vectors unchanged) or none. Recorded in run.json and the checkpoints; embed applies the same.", "zscore").AcceptOnlyFromAmong("zscore", "none");
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
            """) { manifest, output, objective, config, encoder, dim, width, preset, epochs, steps, ppb, spp, source, pairs, curriculum, startGap, negativeGap, lr, warmup, seed, normalize, every, resume, force, scalars };
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
                settings = ResumeSettings(p, settings, runFile, manifest, objective, config, encoder, dim, width, preset, epochs, steps, ppb, spp, source, pairs, curriculum, startGap, negativeGap, lr, warmup, seed, every, normalize);
            }
            else
            {
                string? m = p.GetValue(manifest) ?? throw new CliException("--manifest is required (unless --resume).");
                Microsoft.Extensions.Configuration.IConfiguration? section = null;
                var fromConfig = p.GetValue(config) is { } file ? ExperimentSettings.LoadConfig(file, out section) : null;
                T Pick<T>(Option<T> o, Func<ExperimentOptions, T> fromFile) => fromConfig is null || ExperimentSettings.Given(p, o) ? p.GetValue(o)! : fromFile(fromConfig);
                string spec = fromConfig is null || ExperimentSettings.Given(p, objective) ? p.GetValue(objective)! : fromConfig.Objectives[0];
                settings = new RunSettings
                {
                    Manifest = Path.GetFullPath(m), Delimiter = cx.Delimiter, Objective = ExperimentSettings.SplitObjectives(spec, "--objective") is [var one] ? one : throw new CliException("--objective: give one objective spec (use '+' for a weighted sum)."),
                    Encoder = Pick(encoder, c => section!["Encoder:Architecture"] is null ? "auto" : c.Encoder.Architecture),
                    Dimension = Pick(dim, c => c.Encoder.EmbeddingDimension), Width = Pick(width, c => c.Encoder.WidthMultiplier),
                    Preset = Pick(preset, c => c.Encoder.Preset),
                    Epochs = Pick(epochs, c => c.Pretraining.Epochs), StepsPerEpoch = Pick(steps, c => c.Pretraining.StepsPerEpoch),
                    LearningRate = Pick(lr, c => c.Pretraining.Optimizer.LearningRate), Warmup = Pick(warmup, c => c.Pretraining.WarmupSteps), Seed = p.GetValue(seed),
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
                };
                if (section is not null)
                {
                    // pretrain reads only these keys of a settings file; say which others it ignores rather than drop them silently.
                    string[] used = ["Objectives", "Encoder:Architecture", "Encoder:EmbeddingDimension", "Encoder:WidthMultiplier", "Encoder:Preset", "Pretraining:Epochs", "Pretraining:StepsPerEpoch",
                        "Pretraining:WarmupSteps", "Pretraining:CheckpointEverySteps", "Pretraining:Optimizer:LearningRate", "BatchSource"];
                    var ignored = Microsoft.Extensions.Configuration.ConfigurationExtensions.AsEnumerable(section, makePathsRelative: true).Where(kv => kv.Value is not null)
                        .Select(kv => kv.Key).Where(k => !used.Any(u => k.Equals(u, StringComparison.OrdinalIgnoreCase) || k.StartsWith(u + ":", StringComparison.OrdinalIgnoreCase)))
                        .Order(StringComparer.Ordinal).ToList();
                    if (ignored.Count > 0)
                        await cx.Err.WriteLineAsync($"learner: --config: pretrain ignores {string.Join(", ", ignored)} (experiment settings; pretrain uses the objective, Encoder, BatchSource and the Pretraining budget and learning rate).");
                }
            }
            var data = cx.ReadManifest(settings.Manifest, settings.Delimiter);
            CheckCommand.Preflight(data, [settings.Objective], settings.Batches.Provides);
            // run.json records the encoder actually built ("auto" resolved from the payload shape), which embed reads back.
            settings = settings.Resolved(data);
            var (pretrainer, enc) = settings.CreatePretrainer(data, dir);
            // Only now, with every setting valid, is an old run replaced or a killed one repaired.
            if (replacing) RunFiles.DeleteRun(dir);
            Directory.CreateDirectory(dir);
            string logFile = Path.Combine(dir, "log.jsonl");
            long checkpointStep = 0;
            if (resuming)
            {
                RunFiles.RemoveStaleTemporaryFiles(dir);
                checkpointStep = Pretrainer.ReadCheckpointStep(Path.Combine(dir, "last.safetensors"));
                var (torn, after) = RunFiles.RepairLog(logFile, checkpointStep);
                if (torn + after > 0)
                    await cx.Err.WriteLineAsync($"learner: {logFile}: dropped {torn} torn line(s) and {after} line(s) for steps after the checkpoint's step {checkpointStep} (left by an interrupted run).");
            }
            settings.Write(Path.Combine(dir, RunSettings.FileName));
            // One write and one flush per line: a killed process loses at most the line being written.
            await using var log = new StreamWriter(new FileStream(logFile, resuming ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.Read, bufferSize: 4096)) { AutoFlush = false };
            bool quiet = p.GetValue(json);
            using var scalarLog = p.GetValue(scalars) is { } scalarFile ? new CsvScalarLogger(scalarFile, append: resuming) : null;
            if (resuming && !quiet)
                await cx.Out.WriteLineAsync(checkpointStep >= settings.TotalSteps
                    ? $"The run in '{dir}' is already complete ({CliMessages.Count(settings.TotalSteps, "step")}); nothing to resume."
                    : $"Resuming from step {checkpointStep} of {settings.TotalSteps} ({Path.Combine(dir, "last.safetensors")}).");
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
                cx.WriteJson(new { run = Path.GetFullPath(dir), steps = result.CompletedSteps, stepsRun = ran, resumedFrom = resuming ? checkpointStep : (long?)null, alreadyComplete = resuming && ran == 0, finalLoss = result.Losses.Count > 0 ? result.Losses[^1] : double.NaN, checkpoint = Path.GetFullPath(checkpoint), seconds = clock.Elapsed.TotalSeconds, dataWaitSeconds = result.DataWait.TotalSeconds, dataWaitShare = result.DataWaitShare, normalization = pretrainer.InputNormalization.ToString(), encoder = enc.Name });
            else if (resuming && ran == 0)
                cx.Out.WriteLine($"Already complete: {enc.Name} with {settings.Objective}, {CliMessages.Count(result.CompletedSteps, "step")}; checkpoint {checkpoint}.");
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
        Option<int> pairs, Option<string> curriculum, Option<double> startGap, Option<double> negativeGap, Option<double> lr, Option<int> warmup, Option<int> seed, Option<int> every, Option<string> normalize)
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
        if (ExperimentSettings.Given(p, config)) conflicts.Add($"{config.Name} {p.GetValue(config)} (a resumed run takes its settings from run.json only)");
        if (conflicts.Count > 0)
            throw new CliException($"--resume: {string.Join("; ", conflicts)} contradict{(conflicts.Count == 1 ? "s" : "")} the saved {runFile}. A resumed run continues with the settings it started with; drop these options, or start a new run with --force. (--checkpoint-every may change on resume.)");
        return ExperimentSettings.Given(p, every) ? saved with { CheckpointEvery = p.GetValue(every) } : saved;
    }

    // ---------------------------------------------------------------- embed
    public static Command Embed(CliContext cx, Option<bool> json)
    {
        var run = Req("--run", "The run folder written by pretrain (its run.json rebuilds the encoder).");
        var checkpoint = new Option<string>("--checkpoint") { Description = "Checkpoint to load (default: the run's best.safetensors if any, else last.safetensors)." };
        var manifest = Req("--manifest", "Manifest of the scans to embed.");
        var output = Req("--out", "The embeddings file: .npy (float32 N×D) or .npz (member 'embeddings', float32 N×D); scan ids are written beside it as <out>.ids.csv.");
        var batch = Opt("--batch", "Scans per forward pass.", 64);
        var cmd = new Command("embed", """
            Embed every scan of a manifest with a pretrained encoder.

            Examples:
              learner embed --run runs/wc --manifest data/lus-test/manifest.csv --out runs/wc/test.npy
              learner embed --run runs/wc --checkpoint runs/wc/last.safetensors --manifest data/test/manifest.csv --out test.npz
            """) { run, checkpoint, manifest, output, batch };
        cmd.SetAction(p =>
        {
            string dir = p.GetValue(run)!;
            string file = p.GetValue(output)!;
            bool npz = EmbeddingsFormat(file, "--out");
            string runFile = Path.Combine(dir, RunSettings.FileName);
            CliContext.RequireFile(runFile, "--run");
            var settings = RunSettings.Read(runFile);
            string ckpt = p.GetValue(checkpoint) ?? (File.Exists(Path.Combine(dir, "best.safetensors")) ? Path.Combine(dir, "best.safetensors") : Path.Combine(dir, "last.safetensors"));
            CliContext.RequireFile(ckpt, "--checkpoint");
            var data = cx.ReadManifest(p.GetValue(manifest)!);
            CliContext.Positive(p.GetValue(batch), "--batch");
            var encoder = EncoderFactory.Create(settings.EncoderOptions(data)); // the architecture run.json records
            encoder.Load(ckpt, null, strict: true);
            // The scans get the normalisation the encoder was trained with, as its checkpoint records it.
            var normalization = Pretrainer.ReadCheckpointNormalization(ckpt);
            if (normalization is null)
                cx.Err.WriteLine($"learner: warning: '{ckpt}' does not record its input normalisation (written before it was recorded); its run trained on payloads as stored, so they are embedded as stored.");
            if (encoder.FindNonFiniteTensor() is { } bad)
                throw new CliException($"--checkpoint: '{ckpt}' holds a non-finite {bad}: the run that wrote it diverged; embeddings from it would be meaningless.", ExitCodes.Failed);
            var embeddings = Embedder.EmbedAll(encoder, data, normalization ?? ScanNormalization.Unchanged, p.GetValue(batch));
            int nonFinite = Array.FindIndex(embeddings, v => !float.IsFinite(v));
            if (nonFinite >= 0)
            {
                var scan = data.Scans[nonFinite / encoder.EmbeddingDimension];
                throw new CliException($"The embedding of scan '{scan.Id}' (patient '{scan.PatientId}', row {nonFinite / encoder.EmbeddingDimension}) from '{ckpt}' is not finite (the forward overflowed); nothing was written.", ExitCodes.Failed);
            }
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(file))!);
            var matrix = new Tensor(embeddings, data.ScanCount, encoder.EmbeddingDimension);
            if (npz) Npz.Write(file, new Dictionary<string, Tensor> { [NpzMember] = matrix });
            else Npy.Write(file, matrix);
            using (var ids = new StreamWriter(file + ".ids.csv"))
            {
                ids.WriteLine("row,scan_id,patient_id");
                for (int i = 0; i < data.ScanCount; i++) ids.WriteLine($"{i},{Csv(data.Scans[i].Id)},{Csv(data.Scans[i].PatientId)}");
            }
            if (p.GetValue(json)) cx.WriteJson(new { embeddings = Path.GetFullPath(file), ids = Path.GetFullPath(file + ".ids.csv"), scans = data.ScanCount, dimension = encoder.EmbeddingDimension, checkpoint = Path.GetFullPath(ckpt) });
            else cx.Out.WriteLine($"Wrote {data.ScanCount} × {encoder.EmbeddingDimension} embeddings to {file} (checkpoint {ckpt}).");
            return ExitCodes.Ok;
        });
        return cmd;
    }

    /// <summary>The NPZ member that holds the embedding matrix.</summary>
    private const string NpzMember = "embeddings";

    /// <summary>True for .npz, false for .npy; any other extension is a usage error naming the option.</summary>
    private static bool EmbeddingsFormat(string file, string option)
    {
        string ext = Path.GetExtension(file);
        if (ext.Equals(".npz", StringComparison.OrdinalIgnoreCase)) return true;
        if (ext.Equals(".npy", StringComparison.OrdinalIgnoreCase)) return false;
        throw new CliException($"{option}: '{file}' must end in .npy or .npz (the embeddings formats), got '{(ext.Length == 0 ? "no extension" : ext)}'.");
    }

    private static string Csv(string s) => s.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + s.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : s;

    // ---------------------------------------------------------------- evaluate
    public static Command Evaluate(CliContext cx, Option<bool> json)
    {
        var embeddings = Req("--embeddings", "Embeddings written by embed (.npy, or .npz with an 'embeddings' member; rows in manifest order).");
        var manifest = Req("--manifest", "The manifest the embeddings were computed from.");
        var threshold = new Option<double?>("--threshold") { Description = "Change threshold in score units: Δscore > t is improved, < −t worsened, else stable. Required unless the --config file sets ChangeThresholds; there is no default." };
        var config = new Option<string>("--config") { Description = "A JSON settings file (as for experiment): its ChangeThresholds, Classifier and BootstrapResamples are used; command-line options override them." };
        var folds = Opt("--folds", "Folds of the patient-grouped cross-validation.", 5);
        var seed = Opt("--seed", "Seed of the folds and the bootstrap.", 1);
        var head = Opt("--classifier", "Change classifier: logistic or mlp.", CliDefaults.Classifier).AcceptOnlyFromAmong("logistic", "mlp");
        var resamples = Opt("--bootstrap", "Patient-bootstrap resamples for the 95 % intervals.", 500);
        var output = new Option<string>("--out") { Description = "Also write the metrics JSON to this file." };
        var cmd = new Command("evaluate", """
            Three-way change classification (worsened / stable / improved) from same-patient embedding differences,
            patient-grouped k-fold cross-validation, plus the alignment of embedding distance with |Δscore|; intervals
            from the same patient bootstrap (same streams) as experiment. Embed patients the encoder did not pretrain
            on (pretrain on another manifest): otherwise the estimate is transductive, not held out.

            Example:
              learner evaluate --embeddings runs/wc/test.npy --manifest data/lus-test/manifest.csv --threshold 20 --out runs/wc/metrics.json
            """) { embeddings, manifest, threshold, config, folds, seed, head, resamples, output };
        cmd.SetAction(p =>
        {
            string file = p.GetValue(embeddings)!;
            bool npz = EmbeddingsFormat(file, "--embeddings");
            CliContext.RequireFile(file, "--embeddings");
            var data = cx.ReadManifest(p.GetValue(manifest)!);
            var fromConfig = p.GetValue(config) is { } configFile ? ExperimentSettings.LoadConfig(configFile) : null;
            ChangeThresholds thresholds;
            if (p.GetValue(threshold) is { } t)
            {
                if (!(t > 0) || double.IsInfinity(t)) throw new CliException($"--threshold must be positive and finite, got {t.ToString(CultureInfo.InvariantCulture)}.");
                thresholds = ChangeThresholds.Absolute(t);
            }
            else thresholds = fromConfig?.ChangeThresholds ?? throw new CliException("--threshold is required (the score change that counts as improved or worsened; there is no default), unless the --config file sets ChangeThresholds.");
            int k = p.GetValue(folds);
            if (k < 2) throw new CliException($"--folds must be ≥ 2, got {k}.");
            int n = ExperimentSettings.Given(p, resamples) || fromConfig is null ? p.GetValue(resamples) : fromConfig.BootstrapResamples;
            CliContext.Positive(n, "--bootstrap");
            var tensor = npz ? Npz.ReadArray(file, NpzMember) : Npy.Read(file);
            if (tensor.Rank != 2 || tensor.Dim(0) != data.ScanCount)
                throw new CliException($"--embeddings: '{file}' has shape {Tensor.FormatShape(tensor.Shape)}, but the manifest has {CliMessages.Count(data.ScanCount, "scan")}; expected [{data.ScanCount}, D].", ExitCodes.Failed);
            CheckIds(file + ".ids.csv", data);
            int d = tensor.Dim(1);
            var emb = tensor.ToArray();
            int s = p.GetValue(seed);
            var classifier = fromConfig is null || ExperimentSettings.Given(p, head)
                ? (fromConfig?.Classifier ?? new ChangeClassifierOptions()) with { Head = p.GetValue(head) == "mlp" ? ChangeHead.Mlp : ChangeHead.LogisticRegression }
                : fromConfig.Classifier;
            // An empty change class makes accuracy and macro-F1 meaningless (every pair "stable" scores 1.000): refuse
            // before fitting anything (EmptyChangeClassException, exit 1); a nearly empty class is a warning below.
            var sampler = new IntraPatientPairSampler(data, thresholds);
            EmptyChangeClassException.ThrowIfAnyEmpty(sampler);
            var eval = ChangeEvaluation.CrossValidate(data, emb, d, thresholds, k, s, classifier);
            var pairs = sampler.Pairs;
            var gaps = pairs.Select(q => Math.Abs((double)q.HealthChange)).ToArray();
            var alignment = Alignment.Compute(emb, d, pairs.Select(q => (q.Before, q.After)).ToArray(), gaps);
            // The experiment's summary: same bootstrap streams, so the same predictions get the same intervals.
            var summary = ChangeReport.Summarize(eval, alignment.Distances.ToArray(), gaps, pairs.Select(q => data.Scans[q.Before].PatientIndex).ToArray(), n, (ulong)s);
            var (acc, f1, kappa) = (summary.Accuracy, summary.MacroF1, summary.QuadraticKappa);
            foreach (var warning in summary.Warnings) cx.Err.WriteLine($"learner: warning: {warning}");
            var confusion = Classification.ConfusionMatrix(eval.Truth, eval.Predicted, 3);
            var report = new
            {
                pairs = eval.Truth.Length, folds = k,
                accuracy = Interval(acc), macroF1 = Interval(f1), quadraticKappa = Interval(kappa),
                balancedAccuracy = Classification.BalancedAccuracy(eval.Truth, eval.Predicted, 3),
                spearman = Interval(summary.Spearman), pearson = alignment.Pearson, kendall = alignment.Kendall,
                warnings = summary.Warnings,
                classes = Classification.ChangeLabelNames,
                confusion = Enumerable.Range(0, 3).Select(i => Enumerable.Range(0, 3).Select(j => confusion[i, j]).ToArray()).ToArray(),
            };
            if (p.GetValue(output) is { } outFile)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(outFile))!);
                File.WriteAllText(outFile, JsonSerializer.Serialize(report, CliContext.JsonOptions));
            }
            if (p.GetValue(json)) cx.WriteJson(report);
            else
            {
                cx.Out.WriteLine($"{eval.Truth.Length} same-patient pairs, patient-grouped {k}-fold CV, 95 % patient-bootstrap intervals ({n} resamples)");
                var metrics = new Table().AddColumn("metric").AddColumn(new TableColumn("estimate").RightAligned()).AddColumn(new TableColumn("95 % interval").RightAligned());
                void Row(string name, MetricInterval m) => metrics.AddRow(name, CliContext.F(m.Estimate), Markup.Escape($"[{CliContext.F(m.Lower)}, {CliContext.F(m.Upper)}]"));
                Row("accuracy", acc);
                Row("macro-F1", f1);
                Row("quadratic kappa", kappa);
                metrics.AddRow("balanced accuracy", CliContext.F(report.balancedAccuracy), "");
                Row("Spearman(distance, |Δscore|)", summary.Spearman);
                cx.Console.Write(metrics);
                var table = new Table().Title("confusion (rows true, columns predicted)").AddColumn("true \\ predicted");
                foreach (var name in Classification.ChangeLabelNames) table.AddColumn(new TableColumn(name).RightAligned());
                for (int i = 0; i < 3; i++)
                    table.AddRow(Classification.ChangeLabelNames[i], confusion[i, 0].ToString(CultureInfo.InvariantCulture), confusion[i, 1].ToString(CultureInfo.InvariantCulture), confusion[i, 2].ToString(CultureInfo.InvariantCulture));
                cx.Console.Write(table);
            }
            return ExitCodes.Ok;
        });
        return cmd;
    }

    private static object Interval(MetricInterval m) => new { estimate = m.Estimate, lower = m.Lower, upper = m.Upper };

    private static void CheckIds(string idsFile, LongitudinalDataset data)
    {
        if (!File.Exists(idsFile)) return;
        var lines = File.ReadAllLines(idsFile);
        int rows = lines.Skip(1).Count(l => l.Length > 0);
        if (rows != data.ScanCount)
            throw new CliException($"{idsFile}: {CliMessages.Count(rows, "scan id")}, but the manifest has {CliMessages.Count(data.ScanCount, "scan")}; embed this manifest again.", ExitCodes.Failed);
        for (int i = 1; i < lines.Length && i - 1 < data.ScanCount; i++)
        {
            var cols = SplitCsv(lines[i]);
            if (cols.Count < 2 || cols[1] != data.Scans[i - 1].Id)
                throw new CliException($"{idsFile}, line {i + 1}: row {i - 1} is scan '{(cols.Count >= 2 ? cols[1] : lines[i])}', but the manifest's scan {i - 1} is '{data.Scans[i - 1].Id}'; embed this manifest again.", ExitCodes.Failed);
        }
    }

    /// <summary>Splits one CSV line written by <see cref="Csv"/> (fields optionally quoted, "" inside quotes).</summary>
    internal static List<string> SplitCsv(string line)
    {
        var fields = new List<string>();
        var field = new System.Text.StringBuilder();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < line.Length && line[i + 1] == '"') { field.Append('"'); i++; }
                else if (c == '"') quoted = false;
                else field.Append(c);
            }
            else if (c == '"') quoted = true;
            else if (c == ',') { fields.Add(field.ToString()); field.Clear(); }
            else field.Append(c);
        }
        fields.Add(field.ToString());
        return fields;
    }

    // ---------------------------------------------------------------- report
    public static Command Report(CliContext cx, Option<bool> json)
    {
        var experiment = Req("--experiment", "results.json written by the experiment command.");
        var output = Req("--out", "The HTML file to write.");
        var title = new Option<string>("--title") { Description = "Page title (default: the experiment's)." };
        var cmd = new Command("report", """
            Write the self-contained HTML report (inline SVG: results with CIs, training curves, distance-vs-|Δscore|
            scatter per objective, confusion matrices) of a saved experiment.

            Example:
              learner report --experiment runs/exp/results.json --out runs/exp/report.html
            """) { experiment, output, title };
        cmd.SetAction(p =>
        {
            string file = p.GetValue(experiment)!;
            CliContext.RequireFile(file, "--experiment");
            var results = ExperimentResultsFile.Read(file);
            var options = ExperimentCommand.ReportFor(results);
            if (p.GetValue(title) is { } t) options = options with { Title = t };
            string outFile = p.GetValue(output)!;
            HtmlReport.Write(outFile, results, options);
            if (p.GetValue(json)) cx.WriteJson(new { report = Path.GetFullPath(outFile), runs = results.Rows.Count });
            else cx.Out.WriteLine($"Wrote {outFile} ({CliMessages.Count(results.Rows.Count, "run")}).");
            return ExitCodes.Ok;
        });
        return cmd;
    }
}

/// <summary>A synchronous <see cref="IProgress{T}"/>.</summary>
internal sealed class Relay<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
