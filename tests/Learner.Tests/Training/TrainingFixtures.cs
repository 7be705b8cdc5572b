using Learner.Data;
using Learner.Encoders;
using Learner.Nn;
using Learner.Objectives;
using Learner.Training;

namespace Learner.Tests.Training;

/// <summary>Cohorts, encoders and recording objectives shared by the batch-source tests.</summary>
internal static class TrainingFixtures
{
    /// <summary>12 patients × 3 visits with scores in roughly [70, 560]; a 6-feature payload whose first feature follows
    /// the score. With <paramref name="labels"/>, two quantile labels; with <paramref name="scores"/> false, the labels
    /// are kept and the scores dropped (a label-only dataset).</summary>
    public static LongitudinalDataset Cohort(ulong seed = 11, string prefix = "p", bool labels = true, bool scores = true)
    {
        var rng = new Rng(seed);
        var scans = new List<Scan>();
        for (int p = 0; p < 12; p++)
        {
            float offset = (float)rng.NextGaussian();
            double baseScore = 100 + 400 * rng.NextDouble();
            for (int v = 0; v < 3; v++)
            {
                double score = baseScore + (30 * v + 25 * rng.NextDouble()) * (p % 2 == 0 ? 1 : -1);
                var x = new float[6];
                x[0] = (float)((score - 300) / 100);
                for (int k = 1; k < 6; k++) x[k] = offset + 0.1f * (float)rng.NextGaussian();
                scans.Add(new Scan($"{prefix}s{p}-{v}", $"{prefix}{p}", v, score, payload: new TensorPayload(Tensor.FromSpan(x, 6))));
            }
        }
        var data = new LongitudinalDataset(scans, higherIsHealthier: true);
        if (labels) data = data.WithQuantileLabels(2);
        if (!scores)
            data = new LongitudinalDataset(data.Scans.Select(s => new Scan(s.Id, s.PatientId, s.Time, null, s.CoarseLabel, s.Payload)).ToList(), higherIsHealthier: true);
        return data;
    }

    public static MlpEncoder Encoder() => new(new MlpEncoderOptions { InputFeatures = 6, Hidden = new[] { 16 }, EmbeddingDimension = 4, BatchNorm = false, Seed = 5 });

    public static PretrainingOptions Options(int epochs = 3, int stepsPerEpoch = 4, ulong seed = 21, string? dir = null, int every = 4) => new()
    {
        Epochs = epochs, StepsPerEpoch = stepsPerEpoch, Seed = seed, WarmupSteps = 2, CheckpointDirectory = dir, CheckpointEverySteps = every,
        Optimizer = new EncoderOptimizerOptions { LearningRate = 1e-2 },
    };

    public static int[] Bits(IEnumerable<float> values) => values.Select(BitConverter.SingleToInt32Bits).ToArray();

    public static float[] Weights(MlpEncoder e) => e.Module.StateEntries().SelectMany(p => p.Value.ToArray()).ToArray();

    public static string TempDir() => Path.Combine(Path.GetTempPath(), $"pt-{Guid.NewGuid():N}");

    public static void Cleanup(params string[] dirs)
    {
        foreach (var d in dirs) if (Directory.Exists(d)) Directory.Delete(d, true);
    }
}

/// <summary>One objective call as the pretrainer made it.</summary>
internal sealed record RecordedBatch(int Count, float[] Embeddings, float[] Scores, int[] Labels, int[] Patients, IndexPair[] Pairs, double Loss);

/// <summary>An <see cref="IObjective"/> that records every batch it is given (copies of its spans), then delegates.</summary>
internal sealed class RecordingObjective(IObjective inner, BatchFields extra = BatchFields.None) : IObjective
{
    public List<RecordedBatch> Calls { get; } = new();

    public string Name => inner.Name;

    public BatchFields Requires => inner.Requires | extra;

    public BatchFields Reads => inner.Reads | extra;

    public IReadOnlyList<ObjectiveParameter> Parameters => inner.Parameters;

    public ObjectiveResult Compute(in EmbeddingBatch batch, Span<float> gradEmbeddings, Span<float> gradSecondView)
    {
        var r = inner.Compute(batch, gradEmbeddings, gradSecondView);
        Calls.Add(new RecordedBatch(batch.Count, batch.Embeddings.ToArray(), batch.Scores.ToArray(), batch.Labels.ToArray(),
            batch.PatientIds.ToArray(), batch.Pairs.ToArray(), r.Loss));
        return r;
    }
}

internal sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
