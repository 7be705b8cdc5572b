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

    public string? BestCheckpoint { get; set; }

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
        BestCheckpoint = BestCheckpoint,
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

    public static PretrainingRunState FromJson(string json, string path)
    {
        Dto dto;
        try { dto = JsonSerializer.Deserialize<Dto>(json) ?? throw new JsonException("null"); }
        catch (JsonException e) { throw new InvalidDataException($"'{path}': the pretraining state in its metadata is not valid JSON ({e.Message}).", e); }
        var state = new PretrainingRunState
        {
            BestValue = dto.BestValue, BestEpoch = dto.BestEpoch, BadEpochs = dto.BadEpochs, BestCheckpoint = dto.BestCheckpoint,
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
        if (state.BestCheckpoint is not null && !File.Exists(state.BestCheckpoint)) state.BestCheckpoint = null;
        return state;
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
