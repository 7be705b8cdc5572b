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
    /// <summary>12 patients × 3 visits, no labels (<see cref="TrainingFixtures.Cohort"/>).</summary>
    private static LongitudinalDataset Cohort(ulong seed = 11, string prefix = "p") => TrainingFixtures.Cohort(seed, prefix, labels: false);

    private static (Pretrainer Trainer, MlpEncoder Encoder) Make(LongitudinalDataset data, string? dir, IObjective? objective = null, int every = 4,
        Func<PretrainingOptions, PretrainingOptions>? configure = null, LongitudinalDataset? validation = null)
    {
        var encoder = new MlpEncoder(new MlpEncoderOptions { InputFeatures = 6, Hidden = new[] { 16 }, EmbeddingDimension = 4, BatchNorm = false, Seed = 5 });
        var sampler = new PatientBatchSampler(data, 4, 2);
        objective ??= new WeightedContrastiveLoss(new WeightedContrastiveOptions { UseProvidedPairs = false, PositiveThreshold = 40, GapScale = 100 });
        var options = new PretrainingOptions
        {
            Epochs = 3, StepsPerEpoch = 5, Seed = 21, WarmupSteps = 2, CheckpointDirectory = dir, CheckpointEverySteps = every,
            Optimizer = new EncoderOptimizerOptions { LearningRate = 1e-2 },
        };
        if (configure is not null) options = configure(options);
        return (new Pretrainer(encoder, data, sampler, objective, options) { ValidationSet = validation }, encoder);
    }

    private static string TempDir() => Path.Combine(Path.GetTempPath(), $"pt-{Guid.NewGuid():N}");

    private static void Cleanup(params string[] dirs)
    {
        foreach (var d in dirs) if (Directory.Exists(d)) Directory.Delete(d, true);
    }

    private static int[] Bits(IEnumerable<float> values) => values.Select(BitConverter.SingleToInt32Bits).ToArray();

    /// <summary>Runs to the end in one go, and again cancelled after <paramref name="cancelAt"/> steps and resumed in a fresh
    /// pretrainer; returns both final weight sets (encoder, then objective head).</summary>
    private static (int[] Full, int[] Resumed, PretrainingResult FullResult, PretrainingResult ResumedResult) RunInterrupted(
        Func<string, (Pretrainer, Func<float[]>)> make, long cancelAt)
    {
        string dirA = TempDir(), dirB = TempDir();
        try
        {
            var (full, fullWeights) = make(dirA);
            var fullResult = full.Run();
            var (first, _) = make(dirB);
            using var cts = new CancellationTokenSource();
            var progress = new SyncProgress<TrainingProgress>(p => { if (p.Step == cancelAt) cts.Cancel(); });
            FluentActions.Invoking(() => first.Run(progress, cts.Token)).Should().Throw<OperationCanceledException>();
            var (second, resumedWeights) = make(dirB); // a fresh process: new encoder, objective and optimizers
            var resumedResult = second.Resume(Path.Combine(dirB, "last.safetensors"));
            return (Bits(fullWeights()), Bits(resumedWeights()), fullResult, resumedResult);
        }
        finally { Cleanup(dirA, dirB); }
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

    /// <summary>An objective that only records its detail-reporting switch.</summary>
    private sealed class DetailSwitch(IObjective inner) : IObjective, IDetailReporting
    {
        public string Name => inner.Name;
        public BatchFields Requires => inner.Requires;
        public IReadOnlyList<ObjectiveParameter> Parameters => inner.Parameters;
        public bool ReportsDetails { get; set; } = true;
        public ObjectiveResult Compute(in EmbeddingBatch batch, Span<float> gradEmbeddings, Span<float> gradSecondView) => inner.Compute(batch, gradEmbeddings, gradSecondView);
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void A_run_restores_the_callers_detail_reporting_setting(bool callerSetting, bool withProgress)
    {
        var objective = new DetailSwitch(new WeightedContrastiveLoss(new WeightedContrastiveOptions { UseProvidedPairs = false, PositiveThreshold = 40, GapScale = 100 }));
        IDetailReporting details = objective;
        details.ReportsDetails = callerSetting;
        bool? during = null;
        var (trainer, _) = Make(Cohort(), null, objective);
        var progress = new SyncProgress<TrainingProgress>(_ => during ??= details.ReportsDetails);
        trainer.Run(withProgress ? progress : null);
        details.ReportsDetails.Should().Be(callerSetting, "the pretrainer switches detail reporting for its run only");
        if (withProgress) during.Should().BeTrue("parts and mining counts go to the progress sink during the run");
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
        FluentActions.Invoking(() => new Pretrainer(enc, data, sampler, new TripletLoss(new TripletOptions { Selection = Learner.Objectives.Options.TripletSelection.Provided }), new PretrainingOptions()))
            .Should().Throw<ArgumentException>().WithMessage("*Triplets*triplet sampler*");
        FluentActions.Invoking(() => new Pretrainer(enc, data, sampler, new WeightedContrastiveLoss(), new PretrainingOptions()) { ValidationSet = data })
            .Should().Throw<PatientLeakageException>().WithMessage("*p0*training set*validation set*");
        FluentActions.Invoking(() => new PretrainingOptions { EarlyStopping = new EarlyStoppingOptions { Metric = ValidationMetric.MacroF1 } }.Validate())
            .Should().Throw<ArgumentException>().WithMessage("*MacroF1*ChangeThresholds*");
        FluentActions.Invoking(() => new PretrainingOptions { EarlyStopping = new EarlyStoppingOptions { Patience = 0 } }.Validate())
            .Should().Throw<ArgumentException>().WithMessage("*Patience*");
        FluentActions.Invoking(() => new PretrainingOptions { Validation = new ValidationOptions { LossBatches = 0 } }.Validate())
            .Should().Throw<ArgumentException>().WithMessage("*LossBatches*");
        var noValidation = new Pretrainer(enc, data, sampler, new WeightedContrastiveLoss(),
            new PretrainingOptions { Epochs = 1, StepsPerEpoch = 1, EarlyStopping = new EarlyStoppingOptions() });
        FluentActions.Invoking(() => noValidation.Run()).Should().Throw<InvalidOperationException>().WithMessage("*EarlyStopping*ValidationSet*");
    }

    [Fact]
    public void Two_view_objectives_get_two_augmented_views_and_resume_bit_identically()
    {
        var data = Cohort();
        var seen = new List<float[]>();
        (Pretrainer, Func<float[]>) Make2(string dir)
        {
            var (t, e) = Make(data, dir, new InfoNceLoss(new InfoNceOptions { Temperature = 0.5f }), configure: o => o with { Augmentation = new AugmentationOptions { FlipProbability = 0, NoiseStd = 0.05f, MaxBrightness = 0, MaxContrast = 0 } });
            return (t, () => Weights(e));
        }
        var (full, resumed, fullResult, _) = RunInterrupted(Make2, 6);
        resumed.Should().Equal(full);
        fullResult.Losses.Should().OnlyContain(l => double.IsFinite(l));
        fullResult.Losses.Skip(10).Average().Should().BeLessThan(fullResult.Losses.Take(5).Average());

        // The views differ (augmented independently) but describe the same scans: a spy sees B rows per view.
        var spy = new SpyObjective(new InfoNceLoss(), s => seen.Add(s.ToArray()));
        var (trainer, _) = Make(data, null, spy, configure: o => o with { Epochs = 1, StepsPerEpoch = 1 });
        trainer.Run();
        spy.SecondViewRows.Should().Be(8);
        seen.Should().ContainSingle();
    }

    [Fact]
    public void Triplet_batches_carry_anchor_positive_negative_indices_from_the_sampler()
    {
        var data = Cohort().WithQuantileLabels(2);
        var options = new InterPatientPairOptions { NegativeGap = 100 };
        IndexTriplet[]? triplets = null;
        float[]? scores = null;
        var inner = new TripletLoss(new TripletOptions { Selection = Learner.Objectives.Options.TripletSelection.Provided, Margin = 0.5f });
        var spy = new SpyObjective(inner, null, batch => { triplets = batch.Triplets.ToArray(); scores = batch.Scores.ToArray(); }, BatchFields.Scores);
        var encoder = new MlpEncoder(new MlpEncoderOptions { InputFeatures = 6, Hidden = new[] { 16 }, EmbeddingDimension = 4, BatchNorm = false, Seed = 5 });
        var trainer = new Pretrainer(encoder, data, d => new InterPatientTripletSampler(d, options), 5, spy,
            new PretrainingOptions { Epochs = 2, StepsPerEpoch = 4, Optimizer = new EncoderOptimizerOptions { LearningRate = 1e-2 } });
        var result = trainer.Run();
        result.CompletedSteps.Should().Be(8);
        triplets.Should().HaveCount(5);
        for (int t = 0; t < 5; t++)
        {
            triplets![t].Should().Be(new IndexTriplet(t, 5 + t, 10 + t));
            Math.Abs(scores![10 + t] - scores[t]).Should().BeGreaterThanOrEqualTo(100, "the negative is at least NegativeGap away from its anchor");
        }
    }

    [Fact]
    public void Validation_runs_each_epoch_and_early_stopping_restores_the_best_weights()
    {
        var data = Cohort();
        var validation = Cohort(99, "v");
        string dir = TempDir();
        try
        {
            var reports = new List<TrainingProgress>();
            // MinDelta = 10 on a correlation: no epoch can improve on the first, so the run stops after 1 + Patience epochs.
            var (trainer, encoder) = Make(data, dir, configure: o => o with
            {
                Epochs = 6,
                Validation = new ValidationOptions { ChangeThresholds = ChangeThresholds.Absolute(20), ChangeFolds = 3, LossBatches = 2 },
                EarlyStopping = new EarlyStoppingOptions { Metric = ValidationMetric.Spearman, Patience = 2, MinDelta = 10 },
            }, validation: validation);
            var result = trainer.Run(new SyncProgress<TrainingProgress>(reports.Add));
            result.StoppedEarly.Should().BeTrue();
            result.CompletedSteps.Should().Be(15);
            result.BestEpoch.Should().Be(1);
            result.Epochs.Should().HaveCount(3);
            result.Epochs.Should().OnlyContain(e => e.Validation != null && double.IsFinite(e.Validation.Loss) && double.IsFinite(e.Validation.Spearman)
                && double.IsFinite(e.Validation.MacroF1) && double.IsNaN(e.Validation.PrecisionAt1));
            reports.Where(r => r.Validation != null).Select(r => r.Step).Should().Equal(5, 10, 15);
            result.BestCheckpoint.Should().Be(Path.Combine(dir, "best.safetensors"));
            var restored = Weights(encoder);
            var (_, best) = Make(data, null);
            best.Load(result.BestCheckpoint!);
            restored.Should().Equal(Weights(best), "RestoreBestWeights leaves the encoder at the best epoch");
            var (_, last) = Make(data, null);
            last.Load(Path.Combine(dir, "last.safetensors"));
            Weights(last).Should().NotEqual(restored, "last.safetensors holds the final step, not the best epoch");
        }
        finally { Cleanup(dir); }
    }

    [Fact]
    public void An_objective_head_and_the_validation_history_survive_a_resume_bit_identically()
    {
        var data = Cohort();
        var validation = Cohort(99, "v");
        (Pretrainer, Func<float[]>) MakeMse(string dir)
        {
            var mse = new MseScoreRegression(new MseOptions { EmbeddingDimension = 4, ScoreOffset = 300, ScoreScale = 100, InitSeed = 3 });
            var (t, e) = Make(data, dir, mse, every: 2, configure: o => o with
            {
                Epochs = 4,
                EarlyStopping = new EarlyStoppingOptions { Metric = ValidationMetric.Loss, Patience = 4 },
            }, validation: validation);
            return (t, () => Weights(e).Concat(mse.Parameters.SelectMany(p => p.Value.ToArray())).ToArray());
        }
        var (full, resumed, fullResult, resumedResult) = RunInterrupted(MakeMse, 7);
        resumed.Should().Equal(full, "the head's weights and AdamW moments are checkpointed with the encoder");
        resumedResult.Epochs.Select(e => e.Validation!.Loss).Should().Equal(fullResult.Epochs.Select(e => e.Validation!.Loss));
        resumedResult.Epochs.Select(e => e.TrainLoss).Should().Equal(fullResult.Epochs.Select(e => e.TrainLoss),
            "the epoch cut by the cancellation (steps 5–9, cancelled after 7) averages the steps before and after the resume");
        resumedResult.BestEpoch.Should().Be(fullResult.BestEpoch);
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

    private sealed class SpyObjective(IObjective inner, Action<ReadOnlySpan<float>>? onSecondView, Action<EmbeddingBatch>? onBatch = null, BatchFields extra = 0) : IObjective
    {
        public int SecondViewRows { get; private set; }
        public string Name => inner.Name;
        public BatchFields Requires => inner.Requires | extra;
        public IReadOnlyList<ObjectiveParameter> Parameters => inner.Parameters;
        public ObjectiveResult Compute(in EmbeddingBatch batch, Span<float> gradEmbeddings, Span<float> gradSecondView)
        {
            SecondViewRows = batch.SecondView.Length / batch.Dimension;
            if (!batch.SecondView.IsEmpty) onSecondView?.Invoke(batch.SecondView);
            onBatch?.Invoke(batch);
            return inner.Compute(batch, gradEmbeddings, gradSecondView);
        }
    }

    private sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
