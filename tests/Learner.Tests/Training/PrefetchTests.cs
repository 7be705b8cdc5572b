using Learner.Data;
using Learner.Nn;
using Learner.Objectives;
using Learner.Objectives.Options;
using Learner.Sampling;
using Learner.Training;
using static Learner.Tests.Training.TrainingFixtures;

namespace Learner.Tests.Training;

/// <summary>Batches assembled on the background worker while the previous step computes: the same bits as assembling
/// them on the training thread, errors at the step that would have used the batch, the wait recorded.</summary>
public class PrefetchTests
{
    private static IObjective Weighted() => new WeightedContrastiveLoss(new WeightedContrastiveOptions { GapScale = 100, PositiveThreshold = 40 });

    private static (PretrainingResult Result, float[] Weights) Run(Func<LongitudinalDataset, IPretrainingBatchSource> source, bool prefetch, IObjective objective, AugmentationOptions? augmentation, string? dir = null, string? resumeFrom = null)
    {
        var data = Cohort();
        var encoder = Encoder();
        var options = Options(epochs: 3, stepsPerEpoch: 4, dir: dir, every: 5) with { PrefetchBatches = prefetch, Augmentation = augmentation };
        var trainer = new Pretrainer(encoder, data, source(data), objective, options);
        var result = resumeFrom is null ? trainer.Run() : trainer.Resume(resumeFrom);
        return (result, Weights(encoder));
    }

    [Fact]
    public void Prefetched_batches_give_the_bits_of_batches_assembled_on_the_training_thread()
    {
        // A pair source whose curriculum moves every epoch, and augmented two-view batches (InfoNCE).
        var pairOptions = new InterPatientPairOptions { NegativeGap = 40, Curriculum = CurriculumSchedule.Linear(250, 40, 3), PositiveFraction = 0.5 };
        Func<LongitudinalDataset, IPretrainingBatchSource> pairs = d => new InterPatientPairSource(d, pairOptions, 16);
        Func<LongitudinalDataset, IPretrainingBatchSource> pk = d => new PatientBatchSource(new PatientBatchSampler(d, 4, 2));
        var noise = new AugmentationOptions { NoiseStd = 0.05f };

        foreach (var (source, objective, augmentation) in new[] { (pairs, (Func<IObjective>)Weighted, noise), (pk, () => new InfoNceLoss(new InfoNceOptions()), (AugmentationOptions?)null) })
        {
            var a = Run(source, prefetch: true, objective(), augmentation);
            var b = Run(source, prefetch: false, objective(), augmentation);
            a.Result.CompletedSteps.Should().Be(12);
            a.Result.Losses.Select(BitConverter.DoubleToInt64Bits).Should().Equal(b.Result.Losses.Select(BitConverter.DoubleToInt64Bits));
            Bits(a.Weights).Should().Equal(Bits(b.Weights));
        }
    }

    [Fact]
    public void A_resumed_prefetching_run_ends_with_the_bits_of_an_uninterrupted_one()
    {
        string dir = TempDir();
        try
        {
            Func<LongitudinalDataset, IPretrainingBatchSource> pk = d => new PatientBatchSource(new PatientBatchSampler(d, 4, 2));
            var noise = new AugmentationOptions { NoiseStd = 0.05f };
            var whole = Run(pk, prefetch: false, Weighted(), noise);
            Run(pk, prefetch: true, Weighted(), noise, dir); // checkpoints at step 5 and 10
            var resumed = Run(pk, prefetch: true, Weighted(), noise, TempDir(), Path.Combine(dir, "last.safetensors"));
            resumed.Result.CompletedSteps.Should().Be(12);
            Bits(resumed.Weights).Should().Equal(Bits(whole.Weights));
        }
        finally { Cleanup(dir); }
    }

    [Fact]
    public void A_payload_that_fails_to_load_surfaces_typed_at_the_step_that_would_have_used_it()
    {
        var data = Cohort();
        // The scan first drawn latest within the run's 12 steps (not at step 0): the steps before it complete.
        var (badId, firstStep) = data.Scans.Select(s => (s.Id, Step: FirstStepDrawing(data, s.Index))).Where(x => x.Step is >= 1 and < 12).MaxBy(x => x.Step);
        foreach (bool prefetch in new[] { true, false })
        {
            var scans = data.Scans.Select(s => s.Id == badId ? s.WithPayload(new TensorPayload(new Tensor([0f, 1f, float.NaN, 0f, 0f, 0f], 6))) : s);
            var broken = new LongitudinalDataset(scans, true);
            var completed = new List<long>();
            var trainer = new Pretrainer(Encoder(), broken, new PatientBatchSampler(broken, 4, 2), Weighted(), Options(epochs: 3, stepsPerEpoch: 4) with { PrefetchBatches = prefetch });

            var act = () => trainer.Run(new SyncProgress(p => completed.Add(p.Step)));

            act.Should().Throw<NonFinitePayloadException>().Which.ScanId.Should().Be(badId);
            completed.Should().Equal(Enumerable.Range(1, firstStep).Select(i => (long)i), $"prefetch {prefetch}: steps 1 … {firstStep} complete, the step drawing the scan fails");
        }
    }

    /// <summary>The first step whose P × K batch (seed 21) holds scan <paramref name="index"/>, or 12 when none of the 12 does.</summary>
    private static int FirstStepDrawing(LongitudinalDataset data, int index)
    {
        var sampler = new PatientBatchSampler(data, 4, 2);
        var batch = new int[8];
        for (int step = 0; step < 12; step++)
        {
            sampler.SampleBatch(batch, new Rng(21).Fork((ulong)step));
            if (batch.Contains(index)) return step;
        }
        return 12;
    }

    [Fact]
    public void The_run_records_the_share_of_its_time_spent_waiting_for_data()
    {
        // Payloads that take 20 ms each to produce: without prefetch the training thread waits for all of them.
        var data = Cohort();
        var slow = new LongitudinalDataset(data.Scans.Select(s => s.WithPayload(new DelegatePayload(() => { Thread.Sleep(20); return s.LoadPayload(); }, "slow"))), true)
            .WithPayloadCache(new PayloadCache(0));
        var result = new Pretrainer(Encoder(), slow, new PatientBatchSampler(slow, 4, 2), Weighted(), Options(epochs: 1, stepsPerEpoch: 3) with { PrefetchBatches = false }).Run();

        result.DataWait.Should().BeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(3 * 8 * 20));
        result.DataWaitShare.Should().BeGreaterThan(0.5).And.BeLessThanOrEqualTo(1);
    }

    private sealed class SyncProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
