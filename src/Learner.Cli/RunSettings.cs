using System.Text.Json;
using Learner.Data;
using Learner.Encoders;
using Learner.Experiments;
using Learner.Sampling;
using Learner.Training;

namespace Learner.Cli;

/// <summary>The settings of a <c>pretrain</c> run, saved as run.json so that <c>--resume</c> and <c>embed</c> rebuild the
/// same encoder and objective.</summary>
internal sealed record RunSettings
{
    public const string FileName = "run.json";

    public string Manifest { get; init; } = "";
    /// <summary>The manifest's field delimiter (--delimiter).</summary>
    public string Delimiter { get; init; } = ",";
    public string Objective { get; init; } = Objectives.ObjectiveRecipes.PaperRecipe;
    /// <summary>The architecture: as given (possibly "auto") until <see cref="Resolved"/>, then the one built.</summary>
    public string Encoder { get; init; } = "auto";

    /// <summary>The encoder actually built (architecture resolved from "auto", clip length and input features from the
    /// payloads): what <c>embed</c> and <c>--resume</c> rebuild. Null in run.json files written before it was recorded
    /// (then it is inferred from the manifest again).</summary>
    public EncoderOptions? EncoderSettings { get; init; }
    public int Dimension { get; init; } = CliDefaults.Dimension;
    public double Width { get; init; } = CliDefaults.Width;
    /// <summary>The backbone preset (<see cref="EncoderOptions.Preset"/>; from a settings file's <c>Encoder:Preset</c>).</summary>
    public string Preset { get; init; } = "small";
    public int Epochs { get; init; } = CliDefaults.Epochs;
    public int StepsPerEpoch { get; init; } = CliDefaults.StepsPerEpoch;
    /// <summary>The batch source, whole: its kind, P × K, pairs, curriculum and gaps (from --config, with the command
    /// line's overrides). The one copy of these settings in run.json; <see cref="Read"/> never leaves it null.</summary>
    public BatchSourceOptions? Source { get; init; }

    /// <summary><see cref="Source"/>, or the library's defaults where a run.json predates it.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public BatchSourceOptions Batches => Source ?? new BatchSourceOptions();

    /// <summary>The per-scan input normalisation (--normalize): "zscore" or "none". Null in run.json files written before
    /// it was recorded: those runs trained on payloads as stored, so null means none.</summary>
    public string? Normalize { get; init; }

    /// <summary>The fields that held the batch source beside <see cref="Source"/> in run.json files of earlier versions:
    /// read (and folded into <see cref="Source"/> by <see cref="Read"/>), never written.</summary>
    [System.Text.Json.Serialization.JsonPropertyName("PatientsPerBatch"), System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public int? LegacyPatientsPerBatch { get; init; }

    /// <inheritdoc cref="LegacyPatientsPerBatch"/>
    [System.Text.Json.Serialization.JsonPropertyName("ScansPerPatient"), System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public int? LegacyScansPerPatient { get; init; }

    /// <inheritdoc cref="LegacyPatientsPerBatch"/>
    [System.Text.Json.Serialization.JsonPropertyName("BatchSource"), System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? LegacyBatchSource { get; init; }

    /// <inheritdoc cref="LegacyPatientsPerBatch"/>
    [System.Text.Json.Serialization.JsonPropertyName("PairsPerBatch"), System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public int? LegacyPairsPerBatch { get; init; }

    /// <inheritdoc cref="LegacyPatientsPerBatch"/>
    [System.Text.Json.Serialization.JsonPropertyName("Curriculum"), System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? LegacyCurriculum { get; init; }

    /// <summary>The input normalisation <see cref="Normalize"/> names.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public ScanNormalization InputNormalization => Normalize is null ? ScanNormalization.Unchanged
        : ScanNormalization.ParseMethod(Normalize) is { } method ? new ScanNormalization(method)
        : throw new CliException($"run.json: Normalize '{Normalize}' is not a normalisation (none, zscore, minmax, percentile-clip).");

    /// <summary>The augmentation of every training scan (--augment, or a settings file's Pretraining:Augmentation), or
    /// null for none (run.json files written before it was recorded: those runs had none).</summary>
    public AugmentationOptions? Augmentation { get; init; }

    public double LearningRate { get; init; } = CliDefaults.LearningRate;
    public int Warmup { get; init; } = CliDefaults.Warmup;
    public int Seed { get; init; } = 1;
    public int CheckpointEvery { get; init; } = CliDefaults.CheckpointEvery;

    [System.Text.Json.Serialization.JsonIgnore]
    public long TotalSteps => (long)Epochs * StepsPerEpoch;

    /// <summary>How run.json is written and read: indented, enums by name (a run.json of an earlier version, which wrote
    /// them as numbers, still reads).</summary>
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() },
    };

    public static RunSettings Read(string path)
    {
        try
        {
            var read = JsonSerializer.Deserialize<RunSettings>(File.ReadAllText(path), Json) ?? throw new InvalidDataException($"'{path}' is empty.");
            // Earlier versions kept the batch shape beside Source, and those fields won: fold them in, keep one copy.
            var source = read.Batches;
            source = source with
            {
                Kind = read.LegacyBatchSource is { } kind ? ExperimentSettings.ParseBatchSource(kind) : source.Kind,
                PatientsPerBatch = read.LegacyPatientsPerBatch ?? source.PatientsPerBatch,
                ScansPerPatient = read.LegacyScansPerPatient ?? source.ScansPerPatient,
                PairsPerBatch = read.LegacyPairsPerBatch ?? source.PairsPerBatch,
                CurriculumShape = read.LegacyCurriculum is { } shape ? ExperimentSettings.ParseCurriculum(shape) : source.CurriculumShape,
            };
            return read with { Source = source, LegacyBatchSource = null, LegacyPatientsPerBatch = null, LegacyScansPerPatient = null, LegacyPairsPerBatch = null, LegacyCurriculum = null };
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{path}' is not a run.json written by learner pretrain: {e.Message}", e);
        }
    }

    /// <summary>Writes run.json atomically (a temporary file renamed over it), so a kill never leaves it torn.</summary>
    public void Write(string path) => RunFiles.WriteAtomically(path, JsonSerializer.Serialize(this, Json));

    /// <summary>These settings with the encoder resolved for <paramref name="data"/> (see <see cref="EncoderSettings"/>).</summary>
    public RunSettings Resolved(LongitudinalDataset data)
    {
        var encoder = EncoderOptions(data);
        return this with { Encoder = encoder.Architecture, EncoderSettings = encoder };
    }

    /// <summary>The encoder for the dataset's payloads: the recorded <see cref="EncoderSettings"/> when there are (the
    /// payloads must fit them), else built from the fields, "auto" picking by payload rank and shape.</summary>
    public EncoderOptions EncoderOptions(LongitudinalDataset data)
    {
        if (data.ScanCount == 0) throw new CliException("The manifest has no scans.", ExitCodes.Failed);
        int[] shape;
        using (Nn.TensorScope.Begin()) shape = data.Scans[0].LoadPayload().ShapeArray;
        if (EncoderSettings is { } recorded)
        {
            bool fits = recorded.Architecture switch
            {
                "mlp" => shape.Aggregate(1, (a, b) => a * b) == recorded.InputFeatures,
                "tsm-resnet" => shape.Length == 3 && shape[0] == recorded.ClipLength,
                "cnn2d" => recorded.InputChannels == 1 ? shape.Length == 2 : shape.Length == 3 && shape[0] == recorded.InputChannels,
                "volume" => recorded.InputChannels == 1 ? shape.Length == 3 : shape.Length == 4 && shape[0] == recorded.InputChannels,
                _ => true,
            };
            if (!fits)
                throw new CliException($"--manifest: scan '{data.Scans[0].Id}' has shape [{string.Join(", ", shape)}], which the run's encoder ({recorded.Architecture}{Takes(recorded)}) does not take; embed scans shaped like the ones it pretrained on.", ExitCodes.Failed);
            return recorded;
        }
        string arch = Encoder;
        if (arch == "auto")
            arch = shape.Length switch
            {
                1 => "mlp",
                2 => "cnn2d",
                3 when shape[0] <= 16 => "tsm-resnet",
                3 => "volume",
                _ => throw new CliException($"--encoder auto: payloads of shape [{string.Join(", ", shape)}] (scan '{data.Scans[0].Id}') fit no built-in encoder; choose one of {string.Join(", ", Encoders.EncoderOptions.Architectures)}.", ExitCodes.Failed),
            };
        // An explicit 2-D or 3-D encoder on payloads one rank higher reads the leading axis as input channels (a clip's
        // frames for cnn2d, a multi-channel volume for volume).
        int channels = (arch, shape.Length) switch
        {
            ("cnn2d", 3) or ("volume", 4) => shape[0],
            _ => 1,
        };
        CliContext.Positive(Dimension, "--dim");
        if (!(Width > 0) || !double.IsFinite(Width)) throw new CliException($"--width must be positive and finite, got {Width.ToString(System.Globalization.CultureInfo.InvariantCulture)}.");
        var options = new EncoderOptions
        {
            Architecture = arch, EmbeddingDimension = Dimension, WidthMultiplier = Width, Preset = Preset, Seed = (ulong)Seed,
            ClipLength = arch == "tsm-resnet" && shape.Length >= 1 ? shape[0] : 8,
            InputFeatures = arch == "mlp" ? shape.Aggregate(1, (a, b) => a * b) : 0,
            InputChannels = channels,
        };
        bool takes = arch switch
        {
            "cnn2d" => shape.Length is 2 or 3,
            "volume" => shape.Length is 3 or 4,
            "tsm-resnet" => shape.Length == 3,
            _ => true,
        };
        if (!takes)
            throw new CliException($"--encoder {arch}: scan '{data.Scans[0].Id}' has shape [{string.Join(", ", shape)}], which it does not take ({arch switch { "cnn2d" => "frames [H, W], or [C, H, W] with C channels such as a clip's frames", "volume" => "volumes [D, H, W], or [C, D, H, W]", _ => "clips [T, H, W]" }}); choose another --encoder, or auto.", ExitCodes.Failed);
        try { options.Validate(); }
        catch (ArgumentException e) { throw new CliException($"{e.ParamName switch { "EmbeddingDimension" => "--dim", "WidthMultiplier" => "--width", _ => "--encoder" }}: {CliMessages.Clean(e)}"); }
        return options;
    }

    /// <summary>", clips of 8 frames"-style detail of what a recorded encoder takes, for messages.</summary>
    private static string Takes(EncoderOptions e) => e.Architecture switch
    {
        "mlp" => $", {e.InputFeatures} input features",
        "tsm-resnet" => $", clips of {e.ClipLength} frames",
        "cnn2d" or "volume" when e.InputChannels != 1 => $", {e.InputChannels} input channels",
        _ => "",
    };

    public (Pretrainer, IEncoder) CreatePretrainer(LongitudinalDataset data, string directory)
    {
        CliContext.Positive(Epochs, "--epochs");
        CliContext.Positive(StepsPerEpoch, "--steps");
        CliContext.Positive(CheckpointEvery, "--checkpoint-every");
        var batches = Batches;
        if (batches.PatientsPerBatch < 2) throw new CliException($"--patients-per-batch must be ≥ 2, got {batches.PatientsPerBatch}.");
        CliContext.Positive(batches.ScansPerPatient, "--scans-per-patient");
        if (batches.Kind == BatchSourceKind.PatientBatches && data.PatientCount < batches.PatientsPerBatch)
            throw new CliException($"--patients-per-batch {batches.PatientsPerBatch}: the manifest has only {CliMessages.Count(data.PatientCount, "patient")}; a P×K batch draws that many distinct patients, so give at most {data.PatientCount}.");
        if (!(LearningRate > 0) || !float.IsFinite((float)LearningRate)) throw new CliException($"--lr must be positive and finite in float32, got {LearningRate.ToString(System.Globalization.CultureInfo.InvariantCulture)}.");
        if (Warmup < 0) throw new CliException($"--warmup must be ≥ 0, got {Warmup}.");
        var experiment = new ExperimentOptions
        {
            Encoder = EncoderOptions(data),
            Objectives = new[] { Objective },
            BatchSource = batches,
            Pretraining = new PretrainingOptions
            {
                Epochs = Epochs, StepsPerEpoch = StepsPerEpoch, WarmupSteps = Warmup, CheckpointDirectory = directory, CheckpointEverySteps = CheckpointEvery,
                Optimizer = new EncoderOptimizerOptions { LearningRate = LearningRate },
                InputNormalization = InputNormalization, Augmentation = Augmentation,
            },
        };
        try { experiment.Validate(); }
        catch (ArgumentException e) { throw new CliException(CliMessages.Clean(e)); }
        var (pretrainer, encoder) = new PretrainerFactory(experiment).Create(data, Objective, Seed);
        return (pretrainer, encoder);
    }
}

/// <summary>The files of a pretrain run folder: what makes a folder a run, replacing one (--force), and repairing what a
/// killed process leaves (a torn or too long log.jsonl, temporary files of interrupted atomic writes).</summary>
internal static class RunFiles
{
    /// <summary>The log of a run: one JSON object per completed step, in step order.</summary>
    public const string LogFileName = "log.jsonl";

    private static readonly string[] RunFileNames = [RunSettings.FileName, LogFileName, "last.safetensors", "best.safetensors"];

    /// <summary>True when <paramref name="dir"/> holds a run's settings, log or checkpoints.</summary>
    public static bool HoldsRun(string dir) =>
        Directory.Exists(dir) && (RunFileNames.Any(f => File.Exists(Path.Combine(dir, f))) || Directory.EnumerateFiles(dir, "head-*.safetensors").Any());

    /// <summary>Deletes the files a run writes (settings, log, checkpoints, head files, temporary files), nothing else.</summary>
    public static void DeleteRun(string dir)
    {
        if (!Directory.Exists(dir)) return;
        foreach (var f in RunFileNames) File.Delete(Path.Combine(dir, f));
        foreach (var f in Directory.EnumerateFiles(dir, "head-*.safetensors").ToList()) File.Delete(f);
        RemoveStaleTemporaryFiles(dir);
    }

    /// <summary>Deletes the temporary files of interrupted atomic writes (checkpoints, run.json, the repaired log).</summary>
    /// <returns>How many were deleted.</returns>
    public static int RemoveStaleTemporaryFiles(string dir)
    {
        int n = Pretrainer.RemoveStaleTemporaryFiles(dir).Count;
        foreach (var pattern in new[] { $".{RunSettings.FileName}.*.tmp", $".{LogFileName}.*.tmp" })
            foreach (var f in Directory.EnumerateFiles(dir, pattern).ToList())
            {
                File.Delete(f);
                n++;
            }
        return n;
    }

    /// <summary>Writes <paramref name="text"/> to a temporary file beside <paramref name="path"/> and renames it over it.</summary>
    public static void WriteAtomically(string path, string text)
    {
        string full = Path.GetFullPath(path);
        string temp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
            using (var writer = new StreamWriter(stream))
            {
                writer.Write(text);
                writer.Flush();
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(temp); } catch (IOException) { }
            throw;
        }
    }

    /// <summary>Makes a killed run's log match an uninterrupted run's up to the checkpoint it resumes from: drops a torn
    /// last line (one without its newline, or not a JSON object with a step), any line that does not parse, lines for
    /// steps after <paramref name="checkpointStep"/> (they are run again) and repeated steps. Rewritten atomically, and
    /// only when something was dropped.</summary>
    /// <param name="path">log.jsonl (missing is fine).</param>
    /// <param name="checkpointStep">The completed steps of the checkpoint the run resumes from.</param>
    /// <returns>Lines dropped as torn or unreadable, and as beyond the checkpoint (or repeated).</returns>
    public static (int Torn, int AfterCheckpoint) RepairLog(string path, long checkpointStep)
    {
        if (!File.Exists(path)) return (0, 0);
        string text = File.ReadAllText(path);
        var lines = text.Split('\n');
        // The piece after the last newline is empty for a clean file, or the torn line being written when the process died.
        int torn = lines[^1].Length > 0 ? 1 : 0;
        int after = 0;
        var kept = new System.Text.StringBuilder();
        long last = long.MinValue;
        for (int i = 0; i < lines.Length - 1; i++)
        {
            string line = lines[i].TrimEnd('\r');
            if (line.Length == 0) continue;
            long? step = StepOf(line);
            if (step is null) { torn++; continue; }
            if (step > checkpointStep || step <= last) { after++; continue; }
            last = step.Value;
            kept.Append(line).Append('\n');
        }
        if (torn + after > 0) WriteAtomically(path, kept.ToString());
        return (torn, after);
    }

    /// <summary>The loss of the last step in a run's log, or null when the log is missing, holds no step or records
    /// that step's loss as null (not finite): what a resumed run that had nothing left to do reports as its final loss.</summary>
    /// <param name="path">log.jsonl, already repaired (<see cref="RepairLog"/>).</param>
    public static double? LastLoss(string path)
    {
        if (!File.Exists(path)) return null;
        foreach (string line in File.ReadLines(path).Reverse())
        {
            if (line.Trim().Length == 0 || StepOf(line) is null) continue;
            using var doc = JsonDocument.Parse(line);
            // A non-finite loss is logged as null (NonFiniteAsNullJsonConverter).
            return doc.RootElement.TryGetProperty("loss", out var l) && l.ValueKind == JsonValueKind.Number && l.TryGetDouble(out double v) ? v : null;
        }
        return null;
    }

    private static long? StepOf(string line)
    {
        try
        {
            using var doc = JsonDocument.Parse(line);
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("step", out var s) && s.TryGetInt64(out long v) ? v : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
