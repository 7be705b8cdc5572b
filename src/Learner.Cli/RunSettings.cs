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
    public string Objective { get; init; } = "mse+weighted-contrastive";
    public string Encoder { get; init; } = "auto";
    public int Dimension { get; init; } = 64;
    public double Width { get; init; } = 1;
    public int Epochs { get; init; } = 2;
    public int StepsPerEpoch { get; init; } = 60;
    public int PatientsPerBatch { get; init; } = 8;
    public int ScansPerPatient { get; init; } = 4;
    public string BatchSource { get; init; } = "pk";
    public int PairsPerBatch { get; init; } = 32;
    public string Curriculum { get; init; } = "linear";
    public double LearningRate { get; init; } = 1e-3;
    public int Warmup { get; init; } = 5;
    public int Seed { get; init; } = 1;
    public int CheckpointEvery { get; init; } = 20;

    [System.Text.Json.Serialization.JsonIgnore]
    public long TotalSteps => (long)Epochs * StepsPerEpoch;

    public static RunSettings Read(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<RunSettings>(File.ReadAllText(path)) ?? throw new InvalidDataException($"'{path}' is empty.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{path}' is not a run.json written by learner pretrain: {e.Message}", e);
        }
    }

    public void Write(string path) => File.WriteAllText(path, JsonSerializer.Serialize(this, new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));

    /// <summary>The encoder for the dataset's payloads; "auto" picks by payload rank and shape.</summary>
    public EncoderOptions EncoderOptions(LongitudinalDataset data)
    {
        if (data.ScanCount == 0) throw new CliException("The manifest has no scans.", ExitCodes.Failed);
        int[] shape;
        using (Nn.TensorScope.Begin()) shape = data.Scans[0].LoadPayload().ShapeArray;
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
        var options = new EncoderOptions
        {
            Architecture = arch, EmbeddingDimension = Dimension, WidthMultiplier = Width, Seed = (ulong)Seed,
            ClipLength = arch == "tsm-resnet" && shape.Length >= 1 ? shape[0] : 8,
            InputFeatures = arch == "mlp" ? shape.Aggregate(1, (a, b) => a * b) : 0,
        };
        try { options.Validate(); }
        catch (ArgumentException e) { throw new CliException($"--{(e.ParamName == "EmbeddingDimension" ? "dim" : e.ParamName?.ToLowerInvariant() ?? "encoder")}: {e.Message}"); }
        return options;
    }

    public (Pretrainer, IEncoder) CreatePretrainer(LongitudinalDataset data, string directory)
    {
        CliContext.Positive(Epochs, "--epochs");
        CliContext.Positive(StepsPerEpoch, "--steps");
        CliContext.Positive(CheckpointEvery, "--checkpoint-every");
        if (PatientsPerBatch < 2) throw new CliException($"--patients-per-batch must be ≥ 2, got {PatientsPerBatch}.");
        CliContext.Positive(ScansPerPatient, "--scans-per-patient");
        if (!(LearningRate > 0) || !float.IsFinite((float)LearningRate)) throw new CliException($"--lr must be positive and finite in float32, got {LearningRate.ToString(System.Globalization.CultureInfo.InvariantCulture)}.");
        if (Warmup < 0) throw new CliException($"--warmup must be ≥ 0, got {Warmup}.");
        var experiment = new ExperimentOptions
        {
            Encoder = EncoderOptions(data),
            Objectives = new[] { Objective },
            BatchSource = new BatchSourceOptions
            {
                Kind = ExperimentSettings.ParseBatchSource(BatchSource), PatientsPerBatch = PatientsPerBatch, ScansPerPatient = ScansPerPatient,
                PairsPerBatch = PairsPerBatch, CurriculumShape = ExperimentSettings.ParseCurriculum(Curriculum),
            },
            Pretraining = new PretrainingOptions
            {
                Epochs = Epochs, StepsPerEpoch = StepsPerEpoch, WarmupSteps = Warmup, CheckpointDirectory = directory, CheckpointEverySteps = CheckpointEvery,
                Optimizer = new EncoderOptimizerOptions { LearningRate = LearningRate },
            },
        };
        try { experiment.Validate(); }
        catch (ArgumentException e) { throw new CliException(e.Message); }
        var (pretrainer, encoder) = new PretrainerFactory(experiment).Create(data, Objective, Seed);
        return (pretrainer, encoder);
    }
}
