using Learner.Data;
using Learner.Encoders;
using Learner.Nn;
using Learner.Objectives;
using Learner.Objectives.Options;
using Learner.Sampling;
using Learner.Training;

namespace Learner.Tests.Training;

public class PretrainerTests
{
    /// <summary>12 patients × 3 visits; a 6-feature payload whose first feature follows the score, the rest is a
    /// per-patient offset (nuisance) plus noise.</summary>
    private static LongitudinalDataset Cohort()
    {
        var rng = new Rng(11);
        var scans = new List<Scan>();
        for (int p = 0; p < 12; p++)
        {
            float offset = (float)rng.NextGaussian();
            double baseScore = 100 + 400 * rng.NextDouble();
            for (int v = 0; v < 3; v++)
            {
                double score = baseScore + 30 * v * (p % 2 == 0 ? 1 : -1);
                var x = new float[6];
                x[0] = (float)((score - 300) / 100);
                for (int k = 1; k < 6; k++) x[k] = offset + 0.1f * (float)rng.NextGaussian();
                scans.Add(new Scan($"s{p}-{v}", $"p{p}", v, score, payload: new TensorPayload(Tensor.FromSpan(x, 6))));
            }
        }
        return new LongitudinalDataset(scans, higherIsHealthier: true);
    }

    private static (Pretrainer Trainer, MlpEncoder Encoder) Make(LongitudinalDataset data, string? dir, IObjective? objective = null, int every = 4)
    {
        var encoder = new MlpEncoder(new MlpEncoderOptions { InputFeatures = 6, Hidden = new[] { 16 }, EmbeddingDimension = 4, BatchNorm = false, Seed = 5 });
        var sampler = new PatientBatchSampler(data, 4, 2);
        objective ??= new WeightedContrastiveLoss(new WeightedContrastiveOptions { UseProvidedPairs = false, PositiveThreshold = 40, GapScale = 100 });
        var options = new PretrainingOptions
        {
            Epochs = 3, StepsPerEpoch = 5, Seed = 21, WarmupSteps = 2, CheckpointDirectory = dir, CheckpointEverySteps = every,
            Optimizer = new EncoderOptimizerOptions { LearningRate = 1e-2 },
        };
        return (new Pretrainer(encoder, data, sampler, objective, options), encoder);
    }

    private static float[] Weights(MlpEncoder e) => e.Module.StateEntries().SelectMany(p => p.Value.ToArray()).ToArray();

    [Fact]
    public void Trains_reports_progress_and_lowers_the_loss()
    {
        var (trainer, _) = Make(Cohort(), null);
        var reports = new List<TrainingProgress>();
        var result = trainer.Run(new SyncProgress<TrainingProgress>(reports.Add));
        result.CompletedSteps.Should().Be(15);
        reports.Should().HaveCount(15);
        reports[^1].Epoch.Should().Be(3);
        reports[0].LearningRate.Should().BeApproximately(5e-3, 1e-12, "half of the peak after 1 of 2 warm-up steps");
        result.Losses.Skip(10).Average().Should().BeLessThan(result.Losses.Take(5).Average());
    }

    [Fact]
    public void A_cancelled_and_resumed_run_ends_bit_identical_to_an_uninterrupted_one()
    {
        var data = Cohort();
        string dirA = Path.Combine(Path.GetTempPath(), $"pt-{Guid.NewGuid():N}");
        string dirB = Path.Combine(Path.GetTempPath(), $"pt-{Guid.NewGuid():N}");
        try
        {
            var (full, fullEncoder) = Make(data, dirA);
            full.Run();

            var (first, _) = Make(data, dirB);
            using var cts = new CancellationTokenSource();
            var progress = new SyncProgress<TrainingProgress>(p => { if (p.Step == 7) cts.Cancel(); });
            FluentActions.Invoking(() => first.Run(progress, cts.Token)).Should().Throw<OperationCanceledException>();

            var (second, resumedEncoder) = Make(data, dirB); // a fresh process: new encoder, new optimizer
            var result = second.Resume(Path.Combine(dirB, "last.safetensors"));
            result.Losses.Should().HaveCount(8);
            Weights(resumedEncoder).Select(BitConverter.SingleToInt32Bits).Should().Equal(Weights(fullEncoder).Select(BitConverter.SingleToInt32Bits));
        }
        finally
        {
            if (Directory.Exists(dirA)) Directory.Delete(dirA, true);
            if (Directory.Exists(dirB)) Directory.Delete(dirB, true);
        }
    }

    [Fact]
    public void A_non_finite_loss_stops_training_naming_the_step_and_keeps_the_last_checkpoint()
    {
        var data = Cohort();
        string dir = Path.Combine(Path.GetTempPath(), $"pt-{Guid.NewGuid():N}");
        try
        {
            var inner = new WeightedContrastiveLoss(new WeightedContrastiveOptions { UseProvidedPairs = false, PositiveThreshold = 40, GapScale = 100 });
            var poisoned = new PoisonedObjective(inner, poisonAtCall: 6);
            var (trainer, encoder) = Make(data, dir, poisoned, every: 1);
            var act = () => trainer.Run();
            var ex = act.Should().Throw<TrainingDivergedException>().Which;
            ex.Step.Should().Be(5);
            ex.Message.Should().Contain("Step 5").And.Contain("NaN");
            var before = Weights(encoder);

            var (check, reloaded) = Make(data, null);
            reloaded.Load(Path.Combine(dir, "last.safetensors"));
            Weights(reloaded).Should().Equal(before, "the checkpoint holds the last good step and the bad step did not update");
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, true); }
    }

    [Fact]
    public void Bad_options_and_mismatched_checkpoints_are_reported()
    {
        var data = Cohort();
        var enc = new MlpEncoder(new MlpEncoderOptions { InputFeatures = 6, EmbeddingDimension = 4 });
        var sampler = new PatientBatchSampler(data, 4, 2);
        var obj = new TripletLoss();
        FluentActions.Invoking(() => new Pretrainer(enc, data, sampler, obj, new PretrainingOptions { Epochs = 0 }))
            .Should().Throw<ArgumentException>().WithMessage("*Epochs*");
        FluentActions.Invoking(() => new Pretrainer(enc, data, sampler, new InfoNceLoss(), new PretrainingOptions()))
            .Should().Throw<ArgumentException>().WithMessage("*infonce*SecondView*");
    }

    private sealed class PoisonedObjective(IObjective inner, int poisonAtCall) : IObjective
    {
        private int _calls;
        public string Name => inner.Name;
        public BatchFields Requires => inner.Requires;
        public IReadOnlyList<ObjectiveParameter> Parameters => inner.Parameters;
        public ObjectiveResult Compute(in EmbeddingBatch batch, Span<float> gradEmbeddings, Span<float> gradSecondView)
        {
            var r = inner.Compute(batch, gradEmbeddings, gradSecondView);
            return ++_calls == poisonAtCall ? r with { Loss = double.NaN } : r;
        }
    }

    private sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
