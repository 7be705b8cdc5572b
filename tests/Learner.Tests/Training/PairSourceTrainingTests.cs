using Learner.Downstream;
using Learner.Nn;
using Learner.Objectives;
using Learner.Objectives.Options;
using Learner.Sampling;
using Learner.Training;
using static Learner.Tests.Training.TrainingFixtures;

namespace Learner.Tests.Training;

/// <summary>The inter-patient pair source driving the pretrainer: the curriculum reaches the objective's pairs, pairs
/// point at the de-duplicated scans, resume and validation work with pairs.</summary>
public class PairSourceTrainingTests
{
    // Scores span roughly [70, 560]: a gap of 250 at epoch 0 shrinking to 40 at epoch 2.
    static readonly CurriculumSchedule Schedule = CurriculumSchedule.Linear(250, 40, 3);

    static InterPatientPairOptions PairOptions() => new() { NegativeGap = 40, Curriculum = Schedule, PositiveFraction = 0.5 };

    static IObjective Weighted() => new WeightedContrastiveLoss(new WeightedContrastiveOptions { GapScale = 100, PositiveThreshold = 40 });

    [Fact]
    public void The_curriculum_gap_reaches_every_negative_pair_of_every_step_and_positives_follow_the_rule()
    {
        var data = Cohort();
        var spy = new RecordingObjective(Weighted(), BatchFields.Labels);
        var source = new InterPatientPairSource(data, PairOptions(), 16);
        var result = new Pretrainer(Encoder(), data, source, spy, Options(epochs: 3, stepsPerEpoch: 4)).Run();
        result.CompletedSteps.Should().Be(12);
        spy.Calls.Should().HaveCount(12);
        var minNegativeGap = new double[3];
        for (int s = 0; s < 12; s++)
        {
            int epoch = s / 4;
            double gap = Schedule.GapAt(epoch);
            var call = spy.Calls[s];
            call.Pairs.Should().HaveCount(16);
            call.Count.Should().BeLessThanOrEqualTo(32).And.Be(call.Pairs.SelectMany(p => new[] { p.First, p.Second }).Distinct().Count(),
                "every row of the de-duplicated batch belongs to some pair, and no scan appears twice");
            call.Pairs.Count(p => p.Positive).Should().Be(8, "PositiveFraction 0.5: the first half of the pairs");
            foreach (var p in call.Pairs)
            {
                call.Patients[p.First].Should().NotBe(call.Patients[p.Second], "inter-patient pairs");
                double scoreGap = Math.Abs((double)call.Scores[p.First] - call.Scores[p.Second]);
                ((double)p.ScoreGap).Should().BeApproximately(scoreGap, 1e-3 * Math.Max(1, scoreGap), "the sampler's gap is the batch scores' |Δ|");
                if (p.Positive) call.Labels[p.First].Should().Be(call.Labels[p.Second], "SameCoarseLabel positives");
                else p.ScoreGap.Should().BeGreaterThanOrEqualTo((float)gap, $"step {s} (epoch {epoch}) requires negatives ≥ {gap}");
            }
            var negatives = call.Pairs.Where(p => !p.Positive).Select(p => (double)p.ScoreGap);
            minNegativeGap[epoch] = s % 4 == 0 ? negatives.Min() : Math.Min(minNegativeGap[epoch], negatives.Min());
        }
        Schedule.GapAt(0).Should().BeGreaterThan(Schedule.GapAt(1)).And.BeGreaterThan(Schedule.GapAt(2));
        minNegativeGap[2].Should().BeLessThan(Schedule.GapAt(0), "the last epoch draws negatives the first epoch's gap excluded");
        minNegativeGap[2].Should().BeLessThan(minNegativeGap[0]);
    }

    [Fact]
    public void Pair_rows_point_at_the_de_duplicated_scans()
    {
        var data = Cohort();
        var spy = new RecordingObjective(Weighted());
        var options = Options(epochs: 1, stepsPerEpoch: 1);
        new Pretrainer(Encoder(), data, new InterPatientPairSource(data, PairOptions(), 24), spy, options).Run();
        // Redraw step 0's pairs (dataset indices) independently, and embed every scan with the initial weights (the
        // weights step 0 was computed with).
        var pairs = new ScanPair[24];
        new InterPatientPairSampler(data, PairOptions()).SampleBatch(pairs, new Rng(options.Seed).Fork(0));
        var all = Embedder.EmbedAll(Encoder(), data);
        var call = spy.Calls.Single();
        call.Count.Should().Be(pairs.SelectMany(p => new[] { p.First, p.Second }).Distinct().Count());
        for (int t = 0; t < pairs.Length; t++)
        {
            var p = call.Pairs[t];
            p.Positive.Should().Be(pairs[t].IsPositive);
            p.ScoreGap.Should().Be(pairs[t].ScoreGap);
            call.Embeddings.AsSpan(p.First * 4, 4).ToArray().Should().Equal(all.AsSpan(pairs[t].First * 4, 4).ToArray(), $"pair {t}'s first row is scan {pairs[t].First}");
            call.Embeddings.AsSpan(p.Second * 4, 4).ToArray().Should().Equal(all.AsSpan(pairs[t].Second * 4, 4).ToArray(), $"pair {t}'s second row is scan {pairs[t].Second}");
        }
    }

    [Fact]
    public void Pair_batches_carry_pairs_and_patient_batches_carry_none()
    {
        var data = Cohort();
        var withPairs = new RecordingObjective(Weighted());
        new Pretrainer(Encoder(), data, new InterPatientPairSource(data, PairOptions(), 8), withPairs, Options(epochs: 1, stepsPerEpoch: 2)).Run();
        withPairs.Calls.Should().HaveCount(2).And.OnlyContain(c => c.Pairs.Length == 8);
        var patientBatches = new RecordingObjective(Weighted());
        new Pretrainer(Encoder(), data, new PatientBatchSampler(data, 4, 2), patientBatches, Options(epochs: 1, stepsPerEpoch: 2)).Run();
        patientBatches.Calls.Should().HaveCount(2).And.OnlyContain(c => c.Pairs.Length == 0 && c.Count == 8);
    }

    [Fact]
    public void A_pair_run_with_a_curriculum_cancelled_mid_epoch_resumes_bit_identically()
    {
        var data = Cohort();
        string dirA = TempDir(), dirB = TempDir();
        try
        {
            (Pretrainer, Learner.Encoders.MlpEncoder) Make(string dir)
            {
                var encoder = Encoder();
                return (new Pretrainer(encoder, data, new InterPatientPairSource(data, PairOptions(), 16), Weighted(), Options(epochs: 3, stepsPerEpoch: 5, dir: dir)), encoder);
            }
            var (full, fullEncoder) = Make(dirA);
            var fullResult = full.Run();
            var (first, _) = Make(dirB);
            using var cts = new CancellationTokenSource();
            // Cancelled after step 7: in the middle of epoch 1, whose curriculum gap the resumed run must set again.
            FluentActions.Invoking(() => first.Run(new SyncProgress<TrainingProgress>(p => { if (p.Step == 7) cts.Cancel(); }), cts.Token))
                .Should().Throw<OperationCanceledException>();
            var (second, resumedEncoder) = Make(dirB);
            var resumed = second.Resume(Path.Combine(dirB, "last.safetensors"));
            resumed.Losses.Should().HaveCount(8);
            Bits(resumed.Losses.Select(l => (float)l)).Should().Equal(Bits(fullResult.Losses.Skip(7).Select(l => (float)l)));
            Bits(Weights(resumedEncoder)).Should().Equal(Bits(Weights(fullEncoder)));
        }
        finally { Cleanup(dirA, dirB); }
    }

    [Fact]
    public void The_same_seed_gives_identical_losses_and_another_seed_other_losses()
    {
        var data = Cohort();
        double[] Run(ulong seed) => new Pretrainer(Encoder(), data, new InterPatientPairSource(data, PairOptions(), 16), Weighted(), Options(seed: seed)).Run().Losses.ToArray();
        var a = Run(3);
        Run(3).Should().Equal(a);
        Run(4).Should().NotEqual(a);
    }

    [Fact]
    public void Validation_of_a_pair_run_uses_fixed_seeded_pairs_drawn_from_the_validation_set()
    {
        var data = Cohort();
        var validation = Cohort(99, "v");
        var options = Options(epochs: 2, stepsPerEpoch: 3) with { Validation = new ValidationOptions { LossBatches = 2 } };
        (PretrainingResult Result, RecordingObjective Spy) Run()
        {
            var spy = new RecordingObjective(Weighted(), BatchFields.Labels);
            var trainer = new Pretrainer(Encoder(), data, new InterPatientPairSource(data, PairOptions(), 16), spy, options) { ValidationSet = validation };
            return (trainer.Run(), spy);
        }
        var (result, spy) = Run();
        result.Epochs.Should().HaveCount(2).And.OnlyContain(e => e.Validation != null && double.IsFinite(e.Validation.Loss));
        spy.Calls.Should().HaveCount(2 * 3 + 2 * 2, "3 training steps and 2 validation batches per epoch");
        var validationCalls = new[] { 3, 4, 8, 9 }.Select(i => spy.Calls[i]).ToArray();
        var validationScores = validation.Scans.Select(s => (float)s.Score!.Value).ToHashSet();
        foreach (var call in validationCalls)
        {
            call.Pairs.Should().HaveCount(16);
            call.Scores.Should().OnlyContain(s => validationScores.Contains(s), "validation pairs are drawn from the validation set");
            call.Pairs.Where(p => !p.Positive).Should().OnlyContain(p => p.ScoreGap >= (float)Schedule.GapAt(0), "drawn once, at the source's epoch-0 gap");
        }
        validationCalls[2].Pairs.Should().Equal(validationCalls[0].Pairs, "the same fixed batches every epoch");
        validationCalls[3].Scores.Should().Equal(validationCalls[1].Scores);
        validationCalls[1].Pairs.Should().NotEqual(validationCalls[0].Pairs, "batch k is drawn from its own fork");
        Run().Result.Epochs.Select(e => e.Validation!.Loss).Should().Equal(result.Epochs.Select(e => e.Validation!.Loss));
    }
}
