using Learner.Data;
using Learner.Data.Formats;
using Learner.Nn;
using Learner.Sampling;

namespace Learner.Tests.Data;

public class ManifestTests
{
    [Fact]
    public void Round_trip_with_relative_payload_paths()
    {
        using var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("payloads"));
        var scans = new List<Scan>();
        for (int i = 0; i < 6; i++)
        {
            string file = tmp.File($"payloads/s{i}.npy");
            Npy.Write(file, Tensor.Full(i, 2, 2));
            scans.Add(new Scan($"s{i}", $"p{i / 2}", i % 2, i == 3 ? null : 100 + i, i == 4 ? null : i % 3, new FilePayload(file)));
        }
        var ds = new LongitudinalDataset(scans, higherIsHealthier: false);
        Manifest.Write(tmp.File("manifest.csv"), ds);
        File.ReadAllText(tmp.File("manifest.csv")).Should().Contain("payloads/s0.npy").And.NotContain(tmp.Path);

        var back = Manifest.Read(tmp.File("manifest.csv"), new ManifestOptions { HigherIsHealthier = false });
        back.HigherIsHealthier.Should().BeFalse();
        back.Scans.Select(s => s.Id).Should().Equal(ds.Scans.Select(s => s.Id));
        back.Scans.Select(s => s.Score).Should().Equal(ds.Scans.Select(s => s.Score));
        back.Scans.Select(s => s.CoarseLabel).Should().Equal(ds.Scans.Select(s => s.CoarseLabel));
        back.Scans.Select(s => s.Time).Should().Equal(ds.Scans.Select(s => s.Time));
        back.GetScan("s5").LoadPayload().ToArray().Should().Equal(5, 5, 5, 5);
    }

    [Fact]
    public void Column_names_are_configurable_and_extra_columns_ignored()
    {
        using var tmp = new TempFolder();
        File.WriteAllText(tmp.File("m.csv"), "id;subject;day;sf;note\nA1;A;0;310.5;x\nA2;A;1;;y\nB1;B;0;NaN;z\n");
        var ds = Manifest.Read(tmp.File("m.csv"), new ManifestOptions { ScanIdColumn = "id", PatientIdColumn = "subject", TimeColumn = "day", ScoreColumn = "sf", Delimiter = ";" });
        ds.ScanCount.Should().Be(3);
        ds.GetScan("A1").Score.Should().Be(310.5);
        ds.GetScan("A2").Score.Should().BeNull();
        double.IsNaN(ds.GetScan("B1").Score!.Value).Should().BeTrue();
        ds.GetScan("A1").CoarseLabel.Should().BeNull();
        ds.GetScan("A1").Payload.Should().BeNull();
        // The NaN score is kept, and rejected by name where a score is needed.
        var act = () => new InterPatientPairSampler(ds, new InterPatientPairOptions { PositiveRule = PositiveRule.ScoreWithin, NegativeGap = 1 });
        act.Should().Throw<MissingScoreException>().Which.ScanId.Should().BeOneOf("A2", "B1");
    }

    [Theory]
    [InlineData("scan_id,patient_id,time\na,A,0\nb,B,1,extra\n", 3, "row has 4 columns")]
    [InlineData("scan_id,patient_id,time\na,A,0\nb,B\n", 3, "2 columns")]
    [InlineData("scan_id,patient_id,time,score\na,A,0,abc\n", 2, "'abc'")]
    [InlineData("scan_id,patient_id,time\na,A,yesterday\n", 2, "'yesterday'")]
    [InlineData("scan_id,patient_id,time,label\na,A,0,-1\n", 2, "'-1'")]
    [InlineData("scan_id,patient_id\na,A\n", 1, "'time' is missing")]
    [InlineData("scan_id,patient_id,time\na,,0\n", 2, "empty 'patient_id'")]
    public void Bad_rows_name_the_line(string csv, int line, string fragment)
    {
        using var tmp = new TempFolder();
        File.WriteAllText(tmp.File("m.csv"), csv);
        var act = () => Manifest.Read(tmp.File("m.csv"));
        act.Should().Throw<ManifestFormatException>().Where(e => e.Line == line && e.Message.Contains($"line {line}") && e.Message.Contains(fragment));
    }

    [Fact]
    public void Duplicate_ids_name_both_lines_and_missing_payloads_name_the_file()
    {
        using var tmp = new TempFolder();
        File.WriteAllText(tmp.File("dup.csv"), "scan_id,patient_id,time\na,A,0\nb,A,1\na,B,0\n");
        FluentActions.Invoking(() => Manifest.Read(tmp.File("dup.csv"))).Should().Throw<DuplicateScanIdException>().WithMessage("*lines 2 and 4*");
        File.WriteAllText(tmp.File("miss.csv"), "scan_id,patient_id,time,path\na,A,0,clips/a.npy\n");
        FluentActions.Invoking(() => Manifest.Read(tmp.File("miss.csv"))).Should().Throw<PayloadNotFoundException>()
            .Where(e => e.Path == tmp.File("clips/a.npy") && e.Message.Contains("line 2"));
        var lazy = Manifest.Read(tmp.File("miss.csv"), new ManifestOptions { RequirePayloadFiles = false });
        lazy.Invoking(d => d.CheckPayloadFiles()).Should().Throw<PayloadNotFoundException>();
        FluentActions.Invoking(() => Manifest.Read(tmp.File("absent.csv"))).Should().Throw<FileNotFoundException>();
    }
}
