using Learner.Data;
using Learner.Nn;
using Learner.Sampling;
using Learner.Tests.Data;

namespace Learner.Tests.Sampling;

public class PairSamplerTests
{
    private static InterPatientPairOptions LabelRule(double gap) => new() { NegativeGap = gap };

    [Fact]
    public void Invariants_hold_over_many_random_datasets_and_rules()
    {
        for (ulong seed = 0; seed < 40; seed++)
        {
            var ds = TestCohorts.Random(patients: 3 + (int)(seed % 20), minScans: 1, maxScans: 6, seed);
            var rng = new Rng(seed);
            var (min, max) = ds.ScoreRange();
            double gap = 1 + rng.NextDouble() * 0.6 * (max - min);
            bool byScore = seed % 2 == 1;
            var opts = byScore
                ? new InterPatientPairOptions { PositiveRule = PositiveRule.ScoreWithin, PositiveThreshold = gap / 3, NegativeGap = gap, PositiveFraction = 0.4 }
                : new InterPatientPairOptions { NegativeGap = gap, PositiveFraction = 0.4 };
            InterPatientPairSampler sampler;
            try { sampler = new InterPatientPairSampler(ds, opts); }
            catch (NoPositivesException) { continue; }
            var batch = new ScanPair[100];
            sampler.SampleBatch(batch, rng);
            batch.Count(p => p.IsPositive).Should().Be(40);
            foreach (var pair in batch)
            {
                Scan a = ds.Scans[pair.First], b = ds.Scans[pair.Second];
                a.PatientId.Should().NotBe(b.PatientId, "inter-patient pairs never share a patient");
                double d = Math.Abs(a.Score!.Value - b.Score!.Value);
                pair.ScoreGap.Should().Be((float)d);
                if (!pair.IsPositive) d.Should().BeGreaterThanOrEqualTo(gap, "every negative respects the current gap");
                else if (byScore) d.Should().BeLessThanOrEqualTo(gap / 3);
                else a.CoarseLabel.Should().Be(b.CoarseLabel);
            }
        }
    }

    [Fact]
    public void Every_valid_partner_can_be_drawn()
    {
        // 3 patients; anchor-eligible partners for negatives must cover exactly the far scans of other patients.
        var scans = new[]
        {
            new Scan("a0", "A", 0, 100, 0), new Scan("a1", "A", 1, 400, 1),
            new Scan("b0", "B", 0, 110, 0), new Scan("b1", "B", 1, 390, 1),
            new Scan("c0", "C", 0, 250, 0),
        };
        var ds = new LongitudinalDataset(scans, true);
        var sampler = new InterPatientPairSampler(ds, new InterPatientPairOptions { NegativeGap = 200, PositiveFraction = 0 });
        var batch = new ScanPair[4000];
        sampler.SampleBatch(batch, new Rng(1));
        var seen = batch.Select(p => (ds.Scans[p.First].Id, ds.Scans[p.Second].Id)).Distinct().ToHashSet();
        seen.Should().BeEquivalentTo(new[] { ("a0", "b1"), ("b1", "a0"), ("a1", "b0"), ("b0", "a1") });
        sampler.NegativeAnchorCount.Should().Be(4, "c0 has no scan 200 away");
    }

    [Fact]
    public void Anchors_whose_only_far_scans_are_their_own_are_never_drawn()
    {
        // Gap 250: B's 160 is only far from B's own 410, and A's 400 only from A's own 100.
        var ds = new LongitudinalDataset(new[]
        {
            new Scan("a100", "A", 0, 100, 0), new Scan("a400", "A", 1, 400, 1),
            new Scan("b160", "B", 0, 160, 0), new Scan("b410", "B", 1, 410, 1),
        }, true);
        var sampler = new InterPatientPairSampler(ds, new InterPatientPairOptions { NegativeGap = 250, PositiveFraction = 0 });
        sampler.NegativeAnchorCount.Should().Be(2);
        var batch = new ScanPair[500];
        sampler.SampleBatch(batch, new Rng(2));
        batch.Select(p => (ds.Scans[p.First].Id, ds.Scans[p.Second].Id)).Distinct().Should().BeEquivalentTo(new[] { ("a100", "b410"), ("b410", "a100") });
    }

    [Fact]
    public void A_crowded_range_still_finds_the_other_patient()
    {
        // Patient A has 200 scans at one score; B has a single scan there. Positives must pair across patients.
        var scans = Enumerable.Range(0, 200).Select(i => new Scan($"a{i}", "A", i, 300, 1)).ToList();
        scans.Add(new Scan("b", "B", 0, 300, 1));
        scans.Add(new Scan("c", "C", 0, 100, 0));
        var ds = new LongitudinalDataset(scans, true);
        var sampler = new InterPatientPairSampler(ds, new InterPatientPairOptions { NegativeGap = 150, PositiveFraction = 1 });
        var batch = new ScanPair[500];
        sampler.SampleBatch(batch, new Rng(3));
        batch.Should().OnlyContain(p => ds.Scans[p.First].PatientId != ds.Scans[p.Second].PatientId);
        batch.Should().Contain(p => ds.Scans[p.Second].Id == "b");
    }

    [Fact]
    public void Same_seed_gives_same_batches()
    {
        var ds = TestCohorts.Random(50, 1, 5, 11);
        var s1 = new InterPatientPairSampler(ds, LabelRule(80));
        var s2 = new InterPatientPairSampler(ds, LabelRule(80));
        var b1 = new ScanPair[256];
        var b2 = new ScanPair[256];
        s1.SampleBatch(b1, new Rng(5));
        s2.SampleBatch(b2, new Rng(5));
        b1.Should().Equal(b2);
        s2.SampleBatch(b2, new Rng(6));
        b1.Should().NotEqual(b2);
    }

    [Fact]
    public void Thresholds_that_leave_no_negatives_name_the_threshold_and_range()
    {
        var ds = TestCohorts.Random(10, 1, 3, 2);
        var (min, max) = ds.ScoreRange();
        var act = () => new InterPatientPairSampler(ds, LabelRule(max - min + 1));
        act.Should().Throw<NoNegativesException>()
            .Where(e => e.Gap == max - min + 1 && e.MinScore == min && e.MaxScore == max)
            .WithMessage(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"*gap {max - min + 1:G6}*[{min:G6}, {max:G6}]*"));
        var curriculum = () => new InterPatientPairSampler(ds, new InterPatientPairOptions { NegativeGap = 10, Curriculum = CurriculumSchedule.Linear(10_000, 10, 5) });
        curriculum.Should().Throw<NoNegativesException>().Which.Gap.Should().Be(10_000);
    }

    [Fact]
    public void Bad_inputs_are_typed_errors()
    {
        var missing = new LongitudinalDataset(new[] { new Scan("a", "A", 0, 1, 0), new Scan("b", "B", 0, null, 0) }, true);
        FluentActions.Invoking(() => new InterPatientPairSampler(missing, LabelRule(0.5))).Should().Throw<MissingScoreException>().Which.ScanId.Should().Be("b");
        var unlabelled = new LongitudinalDataset(new[] { new Scan("a", "A", 0, 1, 0), new Scan("b", "B", 0, 5) }, true);
        FluentActions.Invoking(() => new InterPatientPairSampler(unlabelled, LabelRule(0.5))).Should().Throw<MissingLabelException>().Which.ScanId.Should().Be("b");
        var one = new LongitudinalDataset(new[] { new Scan("a", "A", 0, 1, 0), new Scan("b", "A", 1, 5, 0) }, true);
        FluentActions.Invoking(() => new InterPatientPairSampler(one, LabelRule(0.5))).Should().Throw<SamplingException>().WithMessage("*at least two patients*");
        var distinct = new LongitudinalDataset(new[] { new Scan("a", "A", 0, 1, 0), new Scan("b", "B", 0, 5, 1) }, true);
        FluentActions.Invoking(() => new InterPatientPairSampler(distinct, LabelRule(1))).Should().Throw<NoPositivesException>();
        new InterPatientPairSampler(distinct, LabelRule(1) with { PositiveFraction = 0 }).NegativeAnchorCount.Should().Be(2);
        FluentActions.Invoking(() => new InterPatientPairSampler(distinct, new InterPatientPairOptions())).Should().Throw<ArgumentOutOfRangeException>().WithMessage("*NegativeGap*");
        FluentActions.Invoking(() => new InterPatientPairSampler(distinct, new InterPatientPairOptions { PositiveRule = PositiveRule.ScoreWithin, PositiveThreshold = 2, NegativeGap = 1 }))
            .Should().Throw<ArgumentOutOfRangeException>().WithMessage("*exceed the positive threshold*");
    }

    [Fact]
    public void Curriculum_moves_the_gap_and_negatives_follow_it()
    {
        var ds = TestCohorts.Random(80, 1, 4, 21);
        var schedule = CurriculumSchedule.Cosine(250, 40, 6);
        var sampler = new InterPatientPairSampler(ds, new InterPatientPairOptions { NegativeGap = 40, Curriculum = schedule, PositiveFraction = 0.25 });
        var batch = new ScanPair[200];
        var rng = new Rng(4);
        double previous = double.PositiveInfinity;
        for (int epoch = 0; epoch < 8; epoch++)
        {
            sampler.BeginEpoch(epoch);
            sampler.NegativeGap.Should().Be(Math.Max(schedule.GapAt(epoch), 40));
            sampler.NegativeGap.Should().BeLessThanOrEqualTo(previous);
            previous = sampler.NegativeGap;
            sampler.SampleBatch(batch, rng);
            batch.Where(p => !p.IsPositive).Should().OnlyContain(p => Math.Abs(ds.Scans[p.First].Score!.Value - ds.Scans[p.Second].Score!.Value) >= sampler.NegativeGap);
        }
        sampler.NegativeGap.Should().Be(40);
    }

    [Fact]
    public void Sampling_a_batch_allocates_nothing()
    {
        var ds = TestCohorts.Random(2000, 1, 8, 5);
        foreach (var rule in new[] { PositiveRule.SameCoarseLabel, PositiveRule.ScoreWithin })
        {
            var sampler = new InterPatientPairSampler(ds, new InterPatientPairOptions { PositiveRule = rule, PositiveThreshold = 5, NegativeGap = 60 });
            var batch = new ScanPair[1024];
            var rng = new Rng(1);
            SteadyStateAllocations.Bytes(() => { for (int i = 0; i < 20; i++) sampler.SampleBatch(batch, rng); }).Should().Be(0, $"{rule}");
        }
    }
}
