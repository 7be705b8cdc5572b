using Learner.Data;
using Learner.Nn;

namespace Learner.Tests.Data;

public class DatasetTests
{
    private static Scan S(string id, string patient, double t, double? score = null, int? label = null, IScanPayload? payload = null) => new(id, patient, t, score, label, payload);

    [Fact]
    public void Scans_are_grouped_by_patient_and_ordered_by_time_with_visits()
    {
        var ds = new LongitudinalDataset(new[]
        {
            S("b2", "B", 2, 300), S("a1", "A", 5, 200), S("b0", "B", 0, 250), S("a0", "A", 1, 210), S("b1", "B", 2, 320),
        }, higherIsHealthier: true);
        ds.Patients.Select(p => p.Id).Should().Equal("B", "A");
        ds.Scans.Select(s => s.Id).Should().Equal("b0", "b2", "b1", "a0", "a1");
        ds.Scans.Select(s => s.Index).Should().Equal(0, 1, 2, 3, 4);
        ds.Scans.Select(s => s.VisitIndex).Should().Equal(0, 1, 1, 0, 1);
        ds.Scans.Select(s => s.PatientIndex).Should().Equal(0, 0, 0, 1, 1);
        ds.GetPatient("A").FirstScanIndex.Should().Be(3);
        ds.GetPatient("B").VisitCount.Should().Be(2);
        ds.GetScan("a1").Score.Should().Be(200);
        ds.ScoreRange().Should().Be((200, 320));
    }

    [Fact]
    public void Duplicate_scan_ids_are_a_typed_error_naming_the_id()
    {
        var act = () => new LongitudinalDataset(new[] { S("x", "A", 0), S("x", "B", 1) }, true);
        act.Should().Throw<DuplicateScanIdException>().Where(e => e.ScanId == "x" && e.Message.Contains("'x'"));
    }

    [Fact]
    public void Unknown_patients_are_typed_errors()
    {
        var act = () => new LongitudinalDataset(new[] { S("x", "A", 0), S("y", "Z", 1) }, true, patientIds: new[] { "A" });
        act.Should().Throw<UnknownPatientException>().Where(e => e.PatientId == "Z" && e.Message.Contains("'y'"));
        var ds = new LongitudinalDataset(new[] { S("x", "A", 0) }, true);
        ds.Invoking(d => d.GetPatient("Q")).Should().Throw<UnknownPatientException>().Which.PatientId.Should().Be("Q");
        ds.Invoking(d => d.SubsetByPatients(new[] { "A", "Q" })).Should().Throw<UnknownPatientException>();
    }

    [Fact]
    public void Missing_or_NaN_scores_are_typed_errors_where_a_score_is_needed()
    {
        var ds = new LongitudinalDataset(new[] { S("x", "A", 0, 1), S("y", "A", 1, double.NaN), S("z", "B", 0, null) }, true);
        ds.Invoking(d => d.ScoreRange()).Should().Throw<MissingScoreException>().Where(e => e.ScanId == "y" && e.Message.Contains("NaN"));
        var ds2 = new LongitudinalDataset(new[] { S("x", "A", 0, 1), S("z", "B", 0, null) }, true);
        ds2.Invoking(d => d.WithCoarseLabels(new ScoreBinning(new[] { 0.5 }, true))).Should().Throw<MissingScoreException>()
            .Where(e => e.ScanId == "z" && e.Value == null && e.Message.Contains("no health score"));
    }

    [Fact]
    public void Single_visit_patients_are_counted_not_errors()
    {
        var ds = new LongitudinalDataset(new[] { S("a", "A", 0, 1), S("b", "B", 0, 2), S("b2", "B", 0, 2), S("c", "C", 0, 1), S("c2", "C", 3, 1) }, true);
        ds.SingleVisitPatientCount.Should().Be(2);
    }

    [Fact]
    public void Coarse_labels_from_edges_and_quantiles()
    {
        var scans = Enumerable.Range(0, 100).Select(i => S($"s{i}", $"p{i % 10}", i, i)).ToList();
        var ds = new LongitudinalDataset(scans, true).WithCoarseLabels(new ScoreBinning(new[] { 25.0, 50.0 }, true));
        ds.GetScan("s24").CoarseLabel.Should().Be(0);
        ds.GetScan("s25").CoarseLabel.Should().Be(1);
        ds.GetScan("s99").CoarseLabel.Should().Be(2);
        ds.LabelCount.Should().Be(3);
        var q = new LongitudinalDataset(scans, true).WithQuantileLabels(4);
        Enumerable.Range(0, 4).Select(l => q.Scans.Count(s => s.CoarseLabel == l)).Should().Equal(25, 25, 25, 25);
        // Lower-is-healthier: label 0 is the least healthy bin, i.e. the highest scores.
        var low = new LongitudinalDataset(scans, false).WithCoarseLabels(new ScoreBinning(new[] { 25.0, 50.0 }, false));
        low.GetScan("s99").CoarseLabel.Should().Be(0);
        low.GetScan("s0").CoarseLabel.Should().Be(2);
        new LongitudinalDataset(scans, true).Invoking(d => d.WithCoarseLabels(new ScoreBinning(new[] { 1.0 }, false))).Should().Throw<ArgumentException>();
    }

    [Fact]
    public void Binning_validates_edges_and_quantiles_match_numpy_interpolation()
    {
        var act = () => new ScoreBinning(new[] { 1.0, 1.0 }, true);
        act.Should().Throw<ArgumentException>().WithMessage("*strictly increasing*");
        var e = DataFixtures.Section("percentile");
        var values = DataFixtures.Values(e);
        var sorted = values.OrderBy(v => v).ToArray();
        var qs = e.GetProperty("q").EnumerateArray().Select(x => x.GetDouble()).ToArray();
        var expected = e.GetProperty("expected").EnumerateArray().Select(x => x.GetDouble()).ToArray();
        for (int i = 0; i < qs.Length; i++)
            ScoreBinning.Quantile(sorted, qs[i] / 100).Should().BeApproximately(expected[i], 1e-9);
        var eq = () => ScoreBinning.FromQuantiles(new[] { 3.0, 3.0, 3.0 }, 2, true);
        eq.Should().Throw<ArgumentException>().WithMessage("*All 3 scores equal 3*");
    }

    [Fact]
    public void Subsets_keep_whole_patients()
    {
        var ds = TestCohorts.Random(10, 1, 4, 3);
        var sub = ds.SubsetByPatients(new[] { "p3", "p7" });
        sub.Patients.Select(p => p.Id).Should().Equal("p3", "p7");
        sub.ScanCount.Should().Be(ds.GetPatient("p3").ScanCount + ds.GetPatient("p7").ScanCount);
        sub.Scans.Select(s => s.Index).Should().Equal(Enumerable.Range(0, sub.ScanCount));
    }

    [Fact]
    public void LoadBatch_stacks_payloads_and_rejects_ragged_ones()
    {
        var ds = new LongitudinalDataset(new[]
        {
            S("a", "A", 0, 1, payload: new TensorPayload(Tensor.Full(1f, 2, 3))),
            S("b", "B", 0, 2, payload: new TensorPayload(Tensor.Full(2f, 2, 3))),
            S("c", "C", 0, 3, payload: new TensorPayload(Tensor.Full(3f, 3, 2))),
            S("d", "D", 0, 3),
        }, true);
        var batch = ds.LoadBatch(new[] { 1, 0 });
        batch.ShapeArray.Should().Equal(2, 2, 3);
        batch.ToArray().Should().Equal(2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1);
        ds.Invoking(d => d.LoadBatch(new[] { 0, 2 })).Should().Throw<RaggedPayloadException>()
            .Where(e => e.ScanId == "c" && e.Message.Contains("[3, 2]") && e.Message.Contains("[2, 3]"));
        ds.Invoking(d => d.ValidatePayloadShapes()).Should().Throw<RaggedPayloadException>();
        ds.Invoking(d => d.LoadBatch(new[] { 3 })).Should().Throw<LearnerDataException>().WithMessage("*'d' has no payload*");
    }

    [Fact]
    public void LoadBatch_with_views_stacks_transformed_copies_view_major()
    {
        var ds = new LongitudinalDataset(new[]
        {
            S("a", "A", 0, 1, payload: new TensorPayload(Tensor.Full(1f, 2))),
            S("b", "B", 0, 2, payload: new TensorPayload(Tensor.Full(2f, 2))),
        }, true);
        var copies = new List<int>();
        var batch = ds.LoadBatch(new[] { 1, 0 }, 2, (x, copy) => { copies.Add(copy); return Ops.Mul(x, 10f * copy + 1); });
        batch.ShapeArray.Should().Equal(4, 2);
        batch.ToArray().Should().Equal(2, 2, 11, 11, 42, 42, 31, 31);
        copies.Should().Equal(0, 1, 2, 3);
        ds.Invoking(d => d.LoadBatch(new[] { 0, 1 }, 1, (x, copy) => copy == 1 ? Tensor.Full(0f, 3) : x)).Should().Throw<RaggedPayloadException>();
        ds.Invoking(d => d.LoadBatch(new[] { 0 }, 0, null)).Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void Missing_payload_files_are_reported_by_path_and_scan()
    {
        var missing = Path.Combine(Path.GetTempPath(), "nope-" + Guid.NewGuid() + ".npy");
        var ds = new LongitudinalDataset(new[] { S("a", "A", 0, 1, payload: new FilePayload(missing)) }, true);
        ds.Invoking(d => d.CheckPayloadFiles()).Should().Throw<PayloadNotFoundException>().Where(e => e.Path == missing && e.Message.Contains("'a'"));
        ds.Invoking(d => d.LoadBatch(new[] { 0 })).Should().Throw<PayloadNotFoundException>();
    }
}
