using Learner.Data;
using Learner.Nn;
using Learner.Sampling;

namespace Learner.Tests.Sampling;

public class IntraPatientPairTests
{
    private static LongitudinalDataset Visits(bool higherIsHealthier) => new(new[]
    {
        new Scan("a0", "A", 0, 300), new Scan("a0b", "A", 0, 300), new Scan("a1", "A", 1, 340), new Scan("a1b", "A", 1, 340), new Scan("a2", "A", 2, 335),
        new Scan("b0", "B", 0, 200), // single visit
        new Scan("c0", "C", 5, 250), new Scan("c1", "C", 9, 200),
        new Scan("d0", "D", 0, 100), new Scan("d0b", "D", 0, 100), // one visit, two scans
    }, higherIsHealthier);

    [Fact]
    public void Consecutive_visits_with_change_labels_and_pairing_modes()
    {
        var ds = Visits(true);
        var all = new IntraPatientPairSampler(ds, ChangeThresholds.Absolute(20));
        all.SingleVisitPatientCount.Should().Be(2);
        all.Pairs.Should().HaveCount(4 + 2 + 1);
        string Name(int i) => ds.Scans[i].Id;
        all.Pairs.Select(p => (Name(p.Before), Name(p.After), p.Change)).Should().Equal(
            ("a0", "a1", ChangeLabel.Improved), ("a0", "a1b", ChangeLabel.Improved), ("a0b", "a1", ChangeLabel.Improved), ("a0b", "a1b", ChangeLabel.Improved),
            ("a1", "a2", ChangeLabel.Stable), ("a1b", "a2", ChangeLabel.Stable),
            ("c0", "c1", ChangeLabel.Worsened));
        all.CountByChange.Should().Equal(1, 2, 4);
        all.Pairs[^1].HealthChange.Should().Be(-50);
        new IntraPatientPairSampler(ds, ChangeThresholds.Absolute(20), VisitPairing.MatchedScans).Pairs.Should().HaveCount(2 + 1 + 1);
        new IntraPatientPairSampler(ds, ChangeThresholds.Absolute(20), VisitPairing.FirstScan).Pairs.Should().HaveCount(3);

        // Lower-is-healthier mirrors the labels.
        var low = new IntraPatientPairSampler(Visits(false), ChangeThresholds.Absolute(20));
        low.CountByChange.Should().Equal(4, 2, 1);
    }

    [Fact]
    public void Sampling_draws_from_the_pairs_and_reports_when_there_are_none()
    {
        var s = new IntraPatientPairSampler(Visits(true), ChangeThresholds.Absolute(20));
        var batch = new ConsecutivePair[64];
        s.SampleBatch(batch, new Rng(1));
        batch.Should().OnlyContain(p => s.Pairs.Contains(p));
        var rng = new Rng(2);
        SteadyStateAllocations.Bytes(() => s.SampleBatch(batch, rng)).Should().Be(0);

        var single = new LongitudinalDataset(new[] { new Scan("x", "X", 0, 1), new Scan("y", "Y", 0, 2) }, true);
        var none = new IntraPatientPairSampler(single, ChangeThresholds.Absolute(1));
        none.Pairs.Should().BeEmpty();
        none.SingleVisitPatientCount.Should().Be(2);
        FluentActions.Invoking(() => none.SampleBatch(batch, new Rng(1))).Should().Throw<SamplingException>().WithMessage("*all 2 patients have a single visit*");
    }

    [Fact]
    public void A_missing_score_in_a_pair_names_the_scan()
    {
        var ds = new LongitudinalDataset(new[] { new Scan("x0", "X", 0, 1), new Scan("x1", "X", 1, double.NaN) }, true);
        FluentActions.Invoking(() => new IntraPatientPairSampler(ds, ChangeThresholds.Absolute(1))).Should().Throw<MissingScoreException>().Which.ScanId.Should().Be("x1");
    }
}
