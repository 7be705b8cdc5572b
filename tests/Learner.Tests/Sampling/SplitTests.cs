using Learner.Data;
using Learner.Sampling;
using Learner.Tests.Data;

namespace Learner.Tests.Sampling;

public class SplitTests
{
    [Fact]
    public void Train_validation_test_is_disjoint_complete_and_stratified()
    {
        for (int seed = 0; seed < 10; seed++)
        {
            var ds = TestCohorts.Random(300, 1, 5, (ulong)seed + 100);
            var split = PatientSplits.TrainValidationTest(ds, 0.15, 0.2, seed);
            var parts = new[] { split.Train, split.Validation, split.Test };
            parts.SelectMany(p => p.Patients.Select(x => x.Id)).Should().OnlyHaveUniqueItems().And.HaveCount(300);
            parts.Sum(p => p.ScanCount).Should().Be(ds.ScanCount);
            split.Test.PatientCount.Should().BeInRange(59, 61);
            split.Validation.PatientCount.Should().BeInRange(44, 46);
            // Stratified: each part's share of patients whose first label is 0 is close to the whole's.
            double Share(LongitudinalDataset d) => d.Patients.Count(p => Stratum(p) == 0) / (double)d.PatientCount;
            Share(split.Test).Should().BeApproximately(Share(ds), 0.03);
            Share(split.Train).Should().BeApproximately(Share(ds), 0.03);
        }
    }

    private static int Stratum(Patient p) => p.Scans.GroupBy(s => s.CoarseLabel!.Value).OrderByDescending(g => g.Count()).ThenBy(g => g.Key).First().Key;

    [Fact]
    public void KFold_puts_every_patient_in_exactly_one_test_fold()
    {
        var ds = TestCohorts.Random(103, 1, 4, 7);
        var folds = PatientSplits.KFold(ds, 5, seed: 3);
        folds.Should().HaveCount(5);
        folds.SelectMany(f => f.Test.Patients.Select(p => p.Id)).Should().OnlyHaveUniqueItems().And.HaveCount(103);
        folds.Select(f => f.Test.PatientCount).Should().OnlyContain(n => n == 20 || n == 21);
        foreach (var f in folds)
        {
            (f.Train.PatientCount + f.Test.PatientCount).Should().Be(103);
            f.Train.Patients.Select(p => p.Id).Intersect(f.Test.Patients.Select(p => p.Id)).Should().BeEmpty();
            foreach (int label in new[] { 0, 1, 2, 3 })
            {
                int inFold = f.Test.Patients.Count(p => Stratum(p) == label), total = ds.Patients.Count(p => Stratum(p) == label);
                inFold.Should().BeInRange(total / 5, total / 5 + 1, $"label {label} is spread evenly");
            }
        }
        FluentActions.Invoking(() => PatientSplits.KFold(ds, 1, 0)).Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void Splits_are_deterministic_by_seed()
    {
        var ds = TestCohorts.Random(50, 1, 3, 8);
        string Ids(LongitudinalDataset d) => string.Join(",", d.Patients.Select(p => p.Id));
        Ids(PatientSplits.TrainValidationTest(ds, 0.2, 0.2, 5).Test).Should().Be(Ids(PatientSplits.TrainValidationTest(ds, 0.2, 0.2, 5).Test));
        Ids(PatientSplits.TrainValidationTest(ds, 0.2, 0.2, 6).Test).Should().NotBe(Ids(PatientSplits.TrainValidationTest(ds, 0.2, 0.2, 5).Test));
        Ids(PatientSplits.KFold(ds, 3, 1)[2].Test).Should().Be(Ids(PatientSplits.KFold(ds, 3, 1)[2].Test));
    }

    [Fact]
    public void Leakage_check_throws_naming_the_patient_and_parts()
    {
        var ds = TestCohorts.Random(10, 1, 3, 9);
        var a = ds.SubsetByPatients(new[] { "p1", "p2" });
        var b = ds.SubsetByPatients(new[] { "p3", "p2" });
        FluentActions.Invoking(() => PatientSplits.EnsureDisjoint(("train", a), ("test", b))).Should().Throw<PatientLeakageException>()
            .Where(e => e.PatientId == "p2" && e.FirstPart == "train" && e.SecondPart == "test");
        PatientSplits.EnsureDisjoint(("train", a), ("test", ds.SubsetByPatients(new[] { "p4" })));
    }
}
