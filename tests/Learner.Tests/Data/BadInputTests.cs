using Learner.Data;
using Learner.Data.Formats;
using Learner.Nn;
using Learner.Objectives;

namespace Learner.Tests.Data;

/// <summary>Non-finite numbers and ambiguous headers are caught where they enter, with typed errors that name the scan,
/// the file and the manifest line.</summary>
public class BadInputTests
{
    [Theory]
    [InlineData("score", "1e400", "outside the range")]
    [InlineData("score", "-1e400", "outside the range")]
    [InlineData("score", "Infinity", "infinite")]
    [InlineData("score", "-Infinity", "infinite")]
    [InlineData("exact_score", "1e309", "outside the range")]
    public void Overflowing_or_infinite_scores_fail_the_read_naming_line_column_and_value(string column, string value, string fragment)
    {
        using var tmp = new TempFolder();
        File.WriteAllText(tmp.File("m.csv"), $"scan_id,patient_id,time,{column}\na,A,0,1\nb,A,1,{value}\n");
        var act = () => Manifest.Read(tmp.File("m.csv"));
        act.Should().Throw<ManifestFormatException>()
            .Where(e => e.Line == 3 && e.Path == tmp.File("m.csv"))
            .Which.Message.Should().Contain("line 3").And.Contain($"'{column}'").And.Contain($"'{value}'").And.Contain("column 4")
            .And.Contain("scan 'b'").And.Contain(fragment);
    }

    [Fact]
    public void A_NaN_score_is_missing_for_every_consumer()
    {
        using var tmp = new TempFolder();
        File.WriteAllText(tmp.File("m.csv"), "scan_id,patient_id,time,score,label\na,A,0,NaN,1\nb,A,1,2,0\nc,B,0,4,1\n");
        var ds = Manifest.Read(tmp.File("m.csv"));
        var a = ds.GetScan("a");
        a.HasScore.Should().BeFalse();
        a.HasChangeScore.Should().BeFalse();
        a.Invoking(s => s.RequireScore("test")).Should().Throw<MissingScoreException>().Where(e => e.ScanId == "a" && e.Message.Contains("NaN"));
        ds.Invoking(d => d.ScoresAsSingle()).Should().Throw<MissingScoreException>().Where(e => e.ScanId == "a");
        var stats = CohortStatistics.FromDataset(ds);
        stats.ScoredScanCount.Should().Be(2);
        stats.ScoreMean.Should().Be(3);
    }

    [Fact]
    public void A_column_named_twice_names_the_column_and_both_positions()
    {
        using var tmp = new TempFolder();
        File.WriteAllText(tmp.File("m.csv"), "scan_id,patient_id,time,score,label,score\na,A,0,1,0,2\n");
        var act = () => Manifest.Read(tmp.File("m.csv"));
        act.Should().Throw<ManifestFormatException>().Where(e => e.Line == 1)
            .Which.Message.Should().Contain("'score'").And.Contain("positions 4 and 6").And.Contain(tmp.File("m.csv"));
        // A repeated column the reader does not use stays ignored, as extra columns are.
        File.WriteAllText(tmp.File("n.csv"), "scan_id,patient_id,time,note,note\na,A,0,x,y\n");
        Manifest.Read(tmp.File("n.csv")).ScanCount.Should().Be(1);
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(float.NegativeInfinity)]
    public void A_non_finite_payload_value_names_scan_file_manifest_line_and_element(float bad)
    {
        using var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("clips"));
        Npy.Write(tmp.File("clips/a.npy"), Tensor.Full(1, 2, 3, 4));
        var values = Enumerable.Range(0, 24).Select(i => (float)i).ToArray();
        values[17] = bad; // [1, 1, 1] of shape [2, 3, 4]
        Npy.Write(tmp.File("clips/b.npy"), new Tensor(values, [2, 3, 4]));
        File.WriteAllText(tmp.File("m.csv"), "scan_id,patient_id,time,score,path\na,A,0,1,clips/a.npy\nb,A,1,2,clips/b.npy\n");
        var ds = Manifest.Read(tmp.File("m.csv"));

        var e = ds.Invoking(d => d.LoadBatch([0, 1])).Should().Throw<NonFinitePayloadException>().Which;
        e.ScanId.Should().Be("b");
        e.PayloadSource.Should().Be(tmp.File("clips/b.npy"));
        e.ManifestPath.Should().Be(tmp.File("m.csv"));
        e.ManifestLine.Should().Be(3);
        e.ElementIndex.Should().Be(17);
        e.Shape.Should().Equal(2, 3, 4);
        e.Should().BeAssignableTo<LearnerDataException>();
        e.Message.Should().Contain("scan 'b'").And.Contain(tmp.File("clips/b.npy")).And.Contain(tmp.File("m.csv") + " line 3")
            .And.Contain("element 17").And.Contain("[1, 1, 1]");
        // The payload on its own, and the shape check, raise the same error.
        ((FilePayload)ds.GetScan("b").Payload!).Invoking(p => p.Load()).Should().Throw<NonFinitePayloadException>().Where(x => x.ScanId == "b" && x.ManifestLine == 3);
        ds.Invoking(d => d.ValidatePayloadShapes()).Should().Throw<NonFinitePayloadException>();
        // A finite payload still loads.
        ds.LoadBatch([0]).Shape.ToArray().Should().Equal(1, 2, 3, 4);
    }

    [Fact]
    public void Non_finite_values_are_found_at_any_position_of_any_payload_source()
    {
        foreach (int n in new[] { 1, 7, 8, 9, 31, 64, 100 })
            for (int at = 0; at < n; at++)
            {
                var values = new float[n];
                values[at] = float.NaN;
                var scan = new Scan("s", "p", 0, payload: new TensorPayload(new Tensor(values, [n])));
                scan.Invoking(s => s.LoadPayload()).Should().Throw<NonFinitePayloadException>().Where(e => e.ElementIndex == at && e.ScanId == "s" && e.ManifestLine == 0);
            }
        var generated = new Scan("g", "p", 0, payload: new DelegatePayload(() => Tensor.Full(float.PositiveInfinity, 3), "generator 7"));
        generated.Invoking(s => s.LoadPayload()).Should().Throw<NonFinitePayloadException>().WithMessage("*scan 'g' (generator 7)*");
    }
}
