using Learner.Data;
using Learner.Data.Synthetic;
using Learner.Sampling;

namespace Learner.Tests.Data;

/// <summary>Coarse pretraining targets (<see cref="Scan.Score"/>) versus exact change scores (<see cref="Scan.ExactScore"/>).</summary>
public class ExactScoreTests
{
    private static readonly ScoreBinning Bands = new(new[] { 200.0, 300, 400 }, higherIsHealthier: true);

    /// <summary>Patient A moves 210 → 290 inside one band (exactly +80: improved; coarsely 0: stable). Patient B moves
    /// 295 → 305 across a band edge (exactly +10: stable; coarsely a band jump: improved). C moves 450 → 460 in the top band (stable either way).</summary>
    private static LongitudinalDataset Exact() => new(new[]
    {
        new Scan("a0", "A", 0, 210), new Scan("a1", "A", 1, 290),
        new Scan("b0", "B", 0, 295), new Scan("b1", "B", 1, 305),
        new Scan("c0", "C", 0, 450), new Scan("c1", "C", 1, 460),
    }, higherIsHealthier: true);

    private static ChangeLabel[] Labels(LongitudinalDataset ds, ChangeThresholds t) =>
        new IntraPatientPairSampler(ds, t).Pairs.Select(p => p.Change).ToArray();

    [Fact]
    public void Change_score_is_the_exact_score_when_present_else_the_score()
    {
        var both = new Scan("s", "P", 0, score: 250, exactScore: 287.5);
        both.ChangeScore.Should().Be(287.5);
        both.HasChangeScore.Should().BeTrue();
        both.RequireChangeScore("x").Should().Be(287.5);
        both.RequireScore("x").Should().Be(250);

        var scoreOnly = new Scan("t", "P", 1, score: 250);
        scoreOnly.ExactScore.Should().BeNull();
        scoreOnly.ChangeScore.Should().Be(250);

        var exactOnly = new Scan("u", "P", 2, exactScore: 12);
        exactOnly.HasScore.Should().BeFalse();
        exactOnly.ChangeScore.Should().Be(12);

        // A NaN exact score does not silently fall back to the coarse score: it is rejected where a change label is needed.
        var nanExact = new Scan("v", "P", 3, score: 250, exactScore: double.NaN);
        nanExact.HasChangeScore.Should().BeFalse();
        nanExact.Invoking(s => s.RequireChangeScore("labelling intra-patient change")).Should().Throw<MissingScoreException>()
            .WithMessage("Scan 'v' has a non-finite change score (exact score, else score) (NaN), but labelling intra-patient change needs one; change labels are derived from*");
    }

    [Fact]
    public void Copies_keep_the_exact_score()
    {
        var s = new Scan("s", "P", 0, 250, 1, exactScore: 287.5);
        s.WithCoarseLabel(2).ExactScore.Should().Be(287.5);
        s.WithScore(300).ExactScore.Should().Be(287.5);
        s.WithPayload(null).ExactScore.Should().Be(287.5);
        s.WithExactScore(null).ChangeScore.Should().Be(250);
        s.ToString().Should().Contain("exact=287.5");

        var ds = new LongitudinalDataset(new[] { s, new Scan("t", "Q", 0, 150, 0, exactScore: 140) }, true);
        ds.GetScan("s").ExactScore.Should().Be(287.5);
        ds.SubsetByPatients(new[] { "Q" }).GetScan("t").ExactScore.Should().Be(140);
        ds.WithCoarseLabels(Bands).GetScan("s").ExactScore.Should().Be(287.5);
        ds.WithQuantileLabels(2).GetScan("t").ExactScore.Should().Be(140);
    }

    [Fact]
    public void Intra_patient_pairs_label_change_from_the_exact_scores_not_the_coarse_ones()
    {
        var t = ChangeThresholds.Absolute(20);
        var exact = Exact();
        var coarse = exact.WithCoarseScores(Bands);
        var coarseOnly = new LongitudinalDataset(coarse.Scans.Select(s => s.WithExactScore(null)), true);

        Labels(exact, t).Should().Equal(ChangeLabel.Improved, ChangeLabel.Stable, ChangeLabel.Stable);
        Labels(coarseOnly, t).Should().Equal(ChangeLabel.Stable, ChangeLabel.Improved, ChangeLabel.Stable);
        // The coarse-score cohort pretrains on band means but is judged on the exact change.
        Labels(coarse, t).Should().Equal(Labels(exact, t));
        new IntraPatientPairSampler(coarse, t).Pairs.Select(p => p.HealthChange).Should().Equal(80f, 10f, 10f);
        new IntraPatientPairSampler(coarseOnly, t).Pairs.Select(p => p.HealthChange).Should().Equal(0f, 40f, 0f);
    }

    [Fact]
    public void Intra_patient_pairs_mix_exact_and_fallback_scores_per_scan()
    {
        // a1 has an exact score, a0 falls back to its score: 300 → 330 is improved; the coarse 300 → 300 would be stable.
        var ds = new LongitudinalDataset(new[] { new Scan("a0", "A", 0, 300), new Scan("a1", "A", 1, 300, exactScore: 330) }, true);
        var pair = new IntraPatientPairSampler(ds, ChangeThresholds.Absolute(20)).Pairs.Should().ContainSingle().Subject;
        pair.Change.Should().Be(ChangeLabel.Improved);
        pair.HealthChange.Should().Be(30f);

        var t = ChangeThresholds.Absolute(20);
        t.Classify(ds.Scans[0], ds.Scans[1], true).Should().Be(ChangeLabel.Improved);
        t.HealthChange(ds.Scans[0], ds.Scans[1], false).Should().Be(-30);
    }

    [Fact]
    public void A_missing_change_score_names_the_scan_and_that_change_labels_need_it()
    {
        var ds = new LongitudinalDataset(new[] { new Scan("x0", "X", 0, 1), new Scan("x1", "X", 1, coarseLabel: 2) }, true);
        var e = FluentActions.Invoking(() => new IntraPatientPairSampler(ds, ChangeThresholds.Absolute(1))).Should().Throw<MissingScoreException>().Which;
        e.ScanId.Should().Be("x1");
        e.ForChangeLabels.Should().BeTrue();
        e.Value.Should().BeNull();
        e.Message.Should().Be("Scan 'x1' has no change score (exact score, else score), but labelling intra-patient change needs one; change labels are derived from the exact score, or from the score where the scan has no exact score.");

        FluentActions.Invoking(() => ChangeThresholds.Absolute(1).Classify(ds.Scans[0], ds.Scans[1], true))
            .Should().Throw<MissingScoreException>().WithMessage("Scan 'x1'*change labels*");

        // The pretraining-score message is unchanged and does not mention change labels.
        var p = FluentActions.Invoking(() => ds.Scans[1].RequireScore("the pair sampler")).Should().Throw<MissingScoreException>().Which;
        p.ForChangeLabels.Should().BeFalse();
        p.Message.Should().Be("Scan 'x1' has no health score, but the pair sampler needs one.");
    }

    [Fact]
    public void Pretraining_side_keeps_reading_the_score()
    {
        var coarse = Exact().WithCoarseScores(Bands);
        coarse.ScoresAsSingle().Should().Equal(coarse.Scans.Select(s => (float)s.Score!.Value));
        coarse.ScoreRange().Should().Be((265.0, 455.0));
        // A ScoreWithin pair sampler sees the band means: with exact scores no two patients are within 1, with band means A and b0 are.
        var pairs = new InterPatientPairSampler(coarse, new InterPatientPairOptions { PositiveRule = PositiveRule.ScoreWithin, PositiveThreshold = 1, NegativeGap = 150 });
        var batch = new ScanPair[256];
        pairs.SampleBatch(batch, new Learner.Nn.Rng(3));
        batch.Where(b => b.IsPositive).Should().OnlyContain(b => coarse.Scans[b.First].Score == coarse.Scans[b.Second].Score);
    }

    [Fact]
    public void With_coarse_scores_replaces_the_score_by_the_bin_mean_and_keeps_the_exact_one()
    {
        var exact = Exact();
        var coarse = exact.WithCoarseScores(Bands);
        coarse.Scans.Select(s => s.Id).Should().Equal(exact.Scans.Select(s => s.Id));
        // Bins: [200,300) = {210, 290, 295} → 265; [300,400) = {305} → 305; [400,∞) = {450, 460} → 455.
        coarse.Scans.Select(s => s.Score).Should().Equal(265.0, 265.0, 265.0, 305.0, 455.0, 455.0);
        coarse.Scans.Select(s => s.CoarseLabel).Should().Equal(1, 1, 1, 2, 3, 3);
        coarse.Scans.Select(s => s.ExactScore).Should().Equal(exact.Scans.Select(s => s.Score));
        coarse.LabelCount.Should().Be(4);

        // Explicit representatives (band midpoints here); bin 0 is unused, so its NaN is harmless.
        var mid = exact.WithCoarseScores(Bands, new[] { double.NaN, 250, 350, 450 });
        mid.Scans.Select(s => s.Score).Should().Equal(250.0, 250.0, 250.0, 350.0, 450.0, 450.0);
        mid.Scans.Select(s => s.ExactScore).Should().Equal(exact.Scans.Select(s => s.Score));

        // Training-set means applied to held-out patients.
        var train = exact.SubsetByPatients(new[] { "A", "C" });
        var means = Bands.BinMeans(train.Scans.Select(s => s.Score!.Value));
        double.IsNaN(means[0]).Should().BeTrue();
        means[1].Should().Be(250);
        double.IsNaN(means[2]).Should().BeTrue();
        means[3].Should().Be(455);
        FluentActions.Invoking(() => exact.SubsetByPatients(new[] { "B" }).WithCoarseScores(Bands, means))
            .Should().Throw<ArgumentException>().WithMessage("Scan 'b1' (score 305) falls in bin 2, whose coarse score NaN is not finite.*");

        // An exact score that is already there wins over the score being binned.
        var pre = new LongitudinalDataset(new[] { new Scan("s", "P", 0, 250, exactScore: 251.5) }, true).WithCoarseScores(Bands);
        pre.Scans[0].ExactScore.Should().Be(251.5);
        pre.Scans[0].Score.Should().Be(250);
    }

    [Fact]
    public void With_coarse_scores_rejects_bad_input_by_name()
    {
        var exact = Exact();
        FluentActions.Invoking(() => exact.WithCoarseScores(new ScoreBinning(new[] { 300.0 }, higherIsHealthier: false)))
            .Should().Throw<ArgumentException>().WithMessage("*higher-is-healthier = False*");
        FluentActions.Invoking(() => exact.WithCoarseScores(Bands, new[] { 1.0, 2 }))
            .Should().Throw<ArgumentException>().WithMessage("2 bin scores were given for 4 bins.*");
        var missing = new LongitudinalDataset(new[] { new Scan("m", "M", 0, exactScore: 5) }, true);
        FluentActions.Invoking(() => missing.WithCoarseScores(Bands)).Should().Throw<MissingScoreException>()
            .WithMessage("Scan 'm' has no health score, but coarse-score binning needs one.");
    }

    [Fact]
    public void Without_scores_keeps_labels_and_exact_scores_for_evaluation()
    {
        var t = ChangeThresholds.Absolute(20);
        var exact = Exact().WithCoarseLabels(Bands);
        var none = exact.WithoutScores();
        none.Scans.Should().OnlyContain(s => s.Score == null && !s.HasScore);
        none.Scans.Select(s => s.CoarseLabel).Should().Equal(exact.Scans.Select(s => s.CoarseLabel));
        none.Scans.Select(s => s.ExactScore).Should().Equal(exact.Scans.Select(s => s.Score));
        Labels(none, t).Should().Equal(Labels(exact, t));
        FluentActions.Invoking(() => none.ScoresAsSingle("the score objective")).Should().Throw<MissingScoreException>()
            .WithMessage("Scan 'a0' has no health score, but the score objective needs one.");

        // From the coarse-score cohort, label-only keeps the exact (not the coarse) score.
        var fromCoarse = Exact().WithCoarseScores(Bands).WithoutScores();
        fromCoarse.Scans.Select(s => s.ExactScore).Should().Equal(Exact().Scans.Select(s => s.Score));
        Labels(fromCoarse, t).Should().Equal(Labels(Exact(), t));
    }

    [Fact]
    public void Synthetic_cohorts_become_coarse_target_cohorts_judged_on_their_exact_scores()
    {
        var lus = new SyntheticLusCohort(new SyntheticLusOptions { Patients = 30, Seed = 4 });
        var coarse = lus.Dataset.WithCoarseScores(lus.Binning);
        coarse.Scans.Select(s => s.Score).Distinct().Count().Should().BeLessThanOrEqualTo(lus.Binning.BinCount);
        coarse.Scans.Select(s => s.CoarseLabel).Should().Equal(lus.Dataset.Scans.Select(s => s.CoarseLabel));
        var a = new IntraPatientPairSampler(lus.Dataset, lus.ChangeThresholds).Pairs;
        var b = new IntraPatientPairSampler(coarse, lus.ChangeThresholds).Pairs;
        b.Should().Equal(a);
    }
}
