using System.Text.Json;

namespace Learner.Training;

/// <summary>Progress of early stopping and the epoch history; saved in checkpoint metadata so a resumed run continues it.</summary>
internal sealed class PretrainingRunState
{
    public long StartStep { get; set; }

    public List<EpochSummary> Epochs { get; } = new();

    public double? BestValue { get; set; }

    public int? BestEpoch { get; set; }

    public int BadEpochs { get; set; }

    /// <summary>Sum and count of the training losses of the epoch in progress (checkpointed, so that an epoch
    /// interrupted and resumed reports the same mean as an uninterrupted one).</summary>
    public double EpochLossSum { get; set; }

    public int EpochLossCount { get; set; }

    /// <summary>The full path of the best checkpoint; saved as its file name only (resolved in the checkpoint's folder).</summary>
    public string? BestCheckpoint { get; set; }

    /// <summary>|loss| of the run's first <see cref="PretrainingOptions.DivergenceWindow"/> steps: the explosion guard's
    /// reference (checkpointed, so a resumed run applies the same rule).</summary>
    public List<double> ReferenceLosses { get; } = new();

    public string? BestHead { get; set; }

    public string? PreviousBestHead { get; set; }

    public string? LastHead { get; set; }

    public string ToJson() => JsonSerializer.Serialize(new Dto
    {
        BestValue = BestValue,
        BestEpoch = BestEpoch,
        BadEpochs = BadEpochs,
        EpochLossSum = EpochLossSum,
        EpochLossCount = EpochLossCount,
        BestCheckpoint = BestCheckpoint is null ? null : Path.GetFileName(BestCheckpoint),
        ReferenceLosses = ReferenceLosses.ToList(),
        Epochs = Epochs.Select(e => new EpochDto
        {
            Epoch = e.Epoch, Step = e.Step, TrainLoss = Finite(e.TrainLoss), LearningRate = e.LearningRate,
            Validation = e.Validation is { } v ? new[]
            {
                Finite(v.Loss), Finite(v.Spearman), Finite(v.PrecisionAt1), Finite(v.MapAtR), Finite(v.Accuracy), Finite(v.MacroF1), Finite(v.QuadraticKappa),
            } : null,
            Terms = e.Validation?.Terms.ToDictionary(t => t.Key, t => Finite(t.Value)),
        }).ToList(),
    });

    /// <summary>Reads the state saved in the metadata of the checkpoint <paramref name="path"/>; the best checkpoint's name
    /// must be a file name, resolved in the checkpoint's folder.</summary>
    /// <exception cref="InvalidDataException">The JSON is malformed, or the best checkpoint is not a file name in the folder.</exception>
    public static PretrainingRunState FromJson(string json, string path)
    {
        Dto dto;
        try { dto = JsonSerializer.Deserialize<Dto>(json) ?? throw new JsonException("null"); }
        catch (JsonException e) { throw new InvalidDataException($"'{path}': the pretraining state in its metadata is not valid JSON ({e.Message}).", e); }
        var state = new PretrainingRunState
        {
            BestValue = dto.BestValue, BestEpoch = dto.BestEpoch, BadEpochs = dto.BadEpochs, BestCheckpoint = ResolveBest(dto.BestCheckpoint, path),
            EpochLossSum = dto.EpochLossSum, EpochLossCount = dto.EpochLossCount,
        };
        foreach (var e in dto.Epochs ?? new List<EpochDto>())
        {
            ValidationReport? v = null;
            if (e.Validation is { Length: 7 } a)
                v = new ValidationReport(e.Epoch, e.Step, N(a[0]), (e.Terms ?? new()).Select(t => new KeyValuePair<string, double>(t.Key, N(t.Value))).ToArray(),
                    N(a[1]), N(a[2]), N(a[3]), N(a[4]), N(a[5]), N(a[6]));
            state.Epochs.Add(new EpochSummary(e.Epoch, e.Step, N(e.TrainLoss), e.LearningRate, v));
        }
        foreach (var l in dto.ReferenceLosses ?? new List<double>())
        {
            if (!double.IsFinite(l) || l < 0) throw new InvalidDataException($"'{path}': the pretraining state's reference loss {l} is not a finite magnitude.");
            state.ReferenceLosses.Add(l);
        }
        if (state.BestCheckpoint is not null && !File.Exists(state.BestCheckpoint)) state.BestCheckpoint = null;
        return state;
    }

    /// <summary>The best checkpoint named in the state, as a full path in the checkpoint's folder. Checkpoints written before
    /// names were saved hold a full path: accepted only when it lies in that same folder.</summary>
    private static string? ResolveBest(string? saved, string checkpointPath)
    {
        if (saved is null) return null;
        string dir = Path.GetDirectoryName(Path.GetFullPath(checkpointPath))!;
        if (Path.IsPathFullyQualified(saved) && PretrainingCheckpoints.IsFileName(Path.GetFileName(saved))
            && string.Equals(Path.GetDirectoryName(Path.GetFullPath(saved)), dir, StringComparison.Ordinal))
            return Path.GetFullPath(saved);
        return Path.Combine(dir, PretrainingCheckpoints.CheckFileName(checkpointPath, PretrainingCheckpoints.StateKey + ".BestCheckpoint", saved));
    }

    private static double? Finite(double v) => double.IsFinite(v) ? v : null;

    private static double N(double? v) => v ?? double.NaN;

    private sealed class Dto
    {
        public double? BestValue { get; set; }

        public int? BestEpoch { get; set; }

        public int BadEpochs { get; set; }

        public double EpochLossSum { get; set; }

        public int EpochLossCount { get; set; }

        public string? BestCheckpoint { get; set; }

        public List<double>? ReferenceLosses { get; set; }

        public List<EpochDto>? Epochs { get; set; }
    }

    private sealed class EpochDto
    {
        public int Epoch { get; set; }

        public long Step { get; set; }

        public double? TrainLoss { get; set; }

        public double LearningRate { get; set; }

        public double?[]? Validation { get; set; }

        public Dictionary<string, double?>? Terms { get; set; }
    }
}
