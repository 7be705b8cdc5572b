using Learner.Data;
using Learner.Data.Synthetic;
using Learner.Nn;
using Learner.Sampling;

namespace Learner.Tests.Data;

public class SyntheticCohortTests
{
    private static readonly SyntheticLusOptions SmallLus = new() { Patients = 40, Seed = 7 };

    [Fact]
    public void Lus_cohort_has_the_documented_structure()
    {
        var c = new SyntheticLusCohort(SmallLus);
        var ds = c.Dataset;
        ds.PatientCount.Should().Be(40);
        ds.ScanCount.Should().Be(40 * 3 * 4);
        ds.HigherIsHealthier.Should().BeTrue();
        ds.Patients.Should().OnlyContain(p => p.VisitCount == 3 && p.ScanCount == 12);
        ds.Scans.Should().OnlyContain(s => s.Score >= 100 && s.Score <= 500 && s.CoarseLabel == c.Binning.Assign(s.Score!.Value));
        ds.Scans.Select(s => s.CoarseLabel).Distinct().Should().HaveCountGreaterThan(2);
        var clip = ds.Scans[5].LoadPayload();
        clip.ShapeArray.Should().Equal(8, 32, 32);
        clip.CheckFinite("synthetic clip");
        // Clips of one visit share the score; visits are a day apart.
        var p0 = ds.Patients[0].Scans;
        p0.Take(4).Select(s => s.Score).Distinct().Should().HaveCount(1);
        p0.Select(s => s.Time).Distinct().Should().Equal(0.0, 1.0, 2.0);
    }

    [Fact]
    public void Cohorts_are_deterministic_by_seed()
    {
        var a = new SyntheticLusCohort(SmallLus);
        var b = new SyntheticLusCohort(SmallLus);
        a.Dataset.Scans.Select(s => s.Score).Should().Equal(b.Dataset.Scans.Select(s => s.Score));
        // Lazy rendering: order does not matter.
        var late = b.Dataset.Scans[77].LoadPayload().ToArray();
        a.Dataset.Scans[3].LoadPayload();
        a.Dataset.Scans[77].LoadPayload().ToArray().Should().Equal(late);
        var other = new SyntheticLusCohort(SmallLus with { Seed = 8 });
        other.Dataset.Scans.Select(s => s.Score).Should().NotEqual(a.Dataset.Scans.Select(s => s.Score));

        var m1 = new SyntheticMriCohort(new SyntheticMriOptions { Patients = 4, Size = 16, Seed = 3 });
        var m2 = new SyntheticMriCohort(new SyntheticMriOptions { Patients = 4, Size = 16, Seed = 3 });
        m1.Dataset.Scans[5].LoadPayload().ToArray().Should().Equal(m2.Dataset.Scans[5].LoadPayload().ToArray());
    }

    private static double Distance(Tensor a, Tensor b)
    {
        double s = 0;
        var x = a.Data; var y = b.Data;
        for (int i = 0; i < x.Length; i++) { double d = x[i] - y[i]; s += d * d; }
        return Math.Sqrt(s);
    }

    [Fact]
    public void Between_patient_nuisance_dominates_within_patient_change()
    {
        var c = new SyntheticLusCohort(SmallLus);
        double within = 0, between = 0;
        int n = 0;
        for (int p = 0; p + 1 < 40; p += 2)
        {
            var a0 = c.RenderClip(p, 0, 0);
            within += Distance(a0, c.RenderClip(p, 1, 0));
            between += Distance(a0, c.RenderClip(p + 1, 0, 0));
            n++;
        }
        (between / n).Should().BeGreaterThan(1.3 * within / n);
    }

    [Fact]
    public void Severity_drives_the_artefacts_for_a_fixed_patient()
    {
        // Same patient and acquisition, different health: below the pleural line a sicker lung is brighter (B-lines).
        var healthy = new SyntheticLusCohort(SmallLus with { DailyChangeStd = 0, VisitNoiseStd = 0 });
        int sick = Enumerable.Range(0, 40).OrderBy(p => healthy.LatentHealth(p, 0)).First();
        int well = Enumerable.Range(0, 40).OrderBy(p => healthy.LatentHealth(p, 0)).Last();
        healthy.LatentHealth(sick, 0).Should().BeLessThan(healthy.LatentHealth(well, 0));
        // Per-patient nuisance is strong, so compare the cohort average: deep rows carry B-lines when sick.
        double DeepMean(int p) => healthy.RenderClip(p, 0, 0).ToArray().Skip(8 * 32 * 32 / 2).Average();
        var bySeverity = Enumerable.Range(0, 40).Select(p => (h: healthy.LatentHealth(p, 0), deep: DeepMean(p))).OrderBy(t => t.h).ToArray();
        bySeverity.Take(13).Average(t => t.deep).Should().BeGreaterThan(bySeverity.TakeLast(13).Average(t => t.deep));
    }

    [Fact]
    public void Mri_cohort_has_the_documented_structure()
    {
        var c = new SyntheticMriCohort(new SyntheticMriOptions { Patients = 30, Seed = 1 });
        var ds = c.Dataset;
        ds.ScanCount.Should().Be(90);
        ds.Scans.Should().OnlyContain(s => s.Score >= 0 && s.Score <= 30);
        new SyntheticMriCohort(new SyntheticMriOptions { Patients = 5, RoundScores = true }).Dataset.Scans.Should().OnlyContain(s => s.Score == Math.Round(s.Score!.Value));
        ds.Patients[0].Scans.Select(s => s.Time).Should().Equal(0.0, 6.0, 12.0);
        var v = ds.Scans[0].LoadPayload();
        v.ShapeArray.Should().Equal(32, 32, 32);
        v.CheckFinite("synthetic volume");
    }

    [Theory]
    [InlineData(7UL)]
    [InlineData(11UL)]
    public void Mri_change_labels_follow_the_image_visible_change_and_every_class_is_common(ulong seed)
    {
        // Scores and labels are computed eagerly; no volume is rendered here.
        var c = new SyntheticMriCohort(new SyntheticMriOptions { Seed = seed });
        var ds = c.Dataset;
        var pairs = new IntraPatientPairSampler(ds, c.ChangeThresholds);
        int n = pairs.Pairs.Count;
        n.Should().Be(400);
        foreach (var label in new[] { ChangeLabel.Worsened, ChangeLabel.Stable, ChangeLabel.Improved })
            pairs.CountByChange[(int)label].Should().BeGreaterThanOrEqualTo((int)Math.Ceiling(0.15 * n), $"class {label} must hold at least 15 % of the pairs");
        // The oracle: the class the latent (image-visible) change of cognition implies, in MMSE points, at the cohort's
        // own thresholds — no fitting. Labels must follow it.
        var truth = new int[n];
        var oracle = new int[n];
        for (int i = 0; i < n; i++)
        {
            var p = pairs.Pairs[i];
            var (a, b) = (ds.Scans[p.Before], ds.Scans[p.After]);
            int patient = a.PatientIndex;
            double latent = 20 * (c.LatentCognition(patient, b.VisitIndex) - c.LatentCognition(patient, a.VisitIndex));
            truth[i] = (int)p.Change;
            oracle[i] = latent > c.Options.ChangeThreshold ? (int)ChangeLabel.Improved : latent < -c.Options.ChangeThreshold ? (int)ChangeLabel.Worsened : (int)ChangeLabel.Stable;
        }
        Learner.Metrics.Classification.MacroF1(truth, oracle, 3).Should().BeGreaterThanOrEqualTo(0.9);
    }

    [Fact]
    public void Invalid_options_are_rejected_by_name()
    {
        FluentActions.Invoking(() => new SyntheticLusCohort(new SyntheticLusOptions { Frames = 0 })).Should().Throw<ArgumentOutOfRangeException>().WithMessage("*Frames*");
        FluentActions.Invoking(() => new SyntheticMriCohort(new SyntheticMriOptions { NoiseStd = double.NaN })).Should().Throw<ArgumentOutOfRangeException>().WithMessage("*NoiseStd*");
    }
}
