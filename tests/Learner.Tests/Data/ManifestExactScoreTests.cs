using Learner.Data;
using Learner.Sampling;

namespace Learner.Tests.Data;

/// <summary>The manifest's <c>exact_score</c> column: read, written, and the label-only layout.</summary>
public class ManifestExactScoreTests
{
    [Fact]
    public void Exact_scores_round_trip_with_empty_and_nan_cells()
    {
        using var tmp = new TempFolder();
        var ds = new LongitudinalDataset(new[]
        {
            new Scan("s0", "p0", 0, 250, 1, exactScore: 212.25),
            new Scan("s1", "p0", 1, 250, 1),                         // no exact score: written empty, change falls back to 250
            new Scan("s2", "p1", 0, null, 2, exactScore: 301.125),   // exact score without a pretraining score
            new Scan("s3", "p1", 1, 350, 2, exactScore: double.NaN),
        }, higherIsHealthier: true);
        Manifest.Write(tmp.File("m.csv"), ds);
        var lines = File.ReadAllLines(tmp.File("m.csv"));
        lines[0].Should().Be("scan_id,patient_id,time,score,label,exact_score,path");
        lines[2].Should().Be("s1,p0,1,250,1,,");

        var back = Manifest.Read(tmp.File("m.csv"));
        back.Scans.Select(s => s.Score).Should().Equal(250.0, 250.0, null, 350.0);
        back.Scans.Select(s => s.CoarseLabel).Should().Equal(1, 1, 2, 2);
        back.GetScan("s0").ExactScore.Should().Be(212.25);
        back.GetScan("s1").ExactScore.Should().BeNull();
        back.GetScan("s1").ChangeScore.Should().Be(250);
        back.GetScan("s2").ExactScore.Should().Be(301.125);
        double.IsNaN(back.GetScan("s3").ExactScore!.Value).Should().BeTrue();

        // Renamed column, and a dataset without exact scores writes no such column.
        var renamed = new ManifestOptions { ExactScoreColumn = "sf_exact" };
        Manifest.Write(tmp.File("r.csv"), ds, options: renamed);
        File.ReadLines(tmp.File("r.csv")).First().Should().Contain(",sf_exact,");
        Manifest.Read(tmp.File("r.csv"), renamed).GetScan("s0").ExactScore.Should().Be(212.25);
        Manifest.Read(tmp.File("r.csv")).GetScan("s0").ExactScore.Should().BeNull("the default column name is not in this file");

        var plain = new LongitudinalDataset(ds.Scans.Select(s => s.WithExactScore(null)), true);
        Manifest.Write(tmp.File("plain.csv"), plain);
        File.ReadLines(tmp.File("plain.csv")).First().Should().Be("scan_id,patient_id,time,score,label,path");
    }

    [Fact]
    public void A_label_only_manifest_pretrains_on_labels_and_labels_change_from_exact_scores()
    {
        using var tmp = new TempFolder();
        File.WriteAllText(tmp.File("m.csv"), "scan_id,patient_id,time,label,exact_score\na0,A,0,1,210\na1,A,1,1,290\nb0,B,0,2,305\nb1,B,1,2,300\n");
        var ds = Manifest.Read(tmp.File("m.csv"));
        ds.Scans.Should().OnlyContain(s => s.Score == null);
        ds.Scans.Select(s => s.CoarseLabel).Should().Equal(1, 1, 2, 2);
        ds.LabelCount.Should().Be(3);

        var change = new IntraPatientPairSampler(ds, ChangeThresholds.Absolute(20), VisitPairing.AllScans);
        change.Pairs.Select(p => (p.Change, p.HealthChange)).Should().Equal((ChangeLabel.Improved, 80f), (ChangeLabel.Stable, -5f));
        ds.Invoking(d => d.ScoresAsSingle("the score objective")).Should().Throw<MissingScoreException>().Which.ScanId.Should().Be("a0");
    }

    [Fact]
    public void A_label_only_manifest_with_an_empty_exact_cell_names_the_scan_where_change_labels_need_it()
    {
        using var tmp = new TempFolder();
        File.WriteAllText(tmp.File("m.csv"), "scan_id,patient_id,time,label,exact_score\nb0,B,0,2,305\nb1,B,1,2,\n");
        var ds = Manifest.Read(tmp.File("m.csv"));
        FluentActions.Invoking(() => new IntraPatientPairSampler(ds, ChangeThresholds.Absolute(20)))
            .Should().Throw<MissingScoreException>().Where(e => e.ScanId == "b1" && e.ForChangeLabels)
            .WithMessage("Scan 'b1' has no change score*change labels are derived from the exact score*");
    }

    [Fact]
    public void A_bad_exact_score_names_file_line_column_value_and_scan()
    {
        using var tmp = new TempFolder();
        File.WriteAllText(tmp.File("m.csv"), "scan_id,patient_id,time,score,exact_score\na,A,0,1,2\nb,A,1,3,three\n");
        var e = FluentActions.Invoking(() => Manifest.Read(tmp.File("m.csv"))).Should().Throw<ManifestFormatException>().Which;
        e.Line.Should().Be(3);
        e.Message.Should().Be($"{tmp.File("m.csv")}:line 3: 'exact_score' value 'three' of scan 'b' is not a number.");
    }
}
