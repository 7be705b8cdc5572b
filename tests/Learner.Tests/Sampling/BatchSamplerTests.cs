using Learner.Nn;
using Learner.Sampling;
using Learner.Tests.Data;

namespace Learner.Tests.Sampling;

public class BatchSamplerTests
{
    [Fact]
    public void PxK_batches_hold_distinct_patients_with_K_of_their_scans()
    {
        var ds = TestCohorts.Random(40, 1, 6, 13);
        var s = new PatientBatchSampler(ds, patientsPerBatch: 8, scansPerPatient: 3);
        s.BatchSize.Should().Be(24);
        var batch = new int[24];
        var rng = new Rng(1);
        for (int round = 0; round < 50; round++)
        {
            s.SampleBatch(batch, rng);
            var groups = batch.Chunk(3).ToArray();
            groups.Select(g => ds.Scans[g[0]].PatientIndex).Distinct().Should().HaveCount(8);
            foreach (var g in groups)
            {
                g.Select(i => ds.Scans[i].PatientIndex).Distinct().Should().HaveCount(1);
                var patient = ds.Patients[ds.Scans[g[0]].PatientIndex];
                if (patient.ScanCount >= 3) g.Distinct().Should().HaveCount(3, "without replacement when the patient has enough scans");
            }
        }
        FluentActions.Invoking(() => new PatientBatchSampler(ds, 41, 2)).Should().Throw<ArgumentOutOfRangeException>().WithMessage("*40 patients*");
        FluentActions.Invoking(() => s.SampleBatch(new int[5], rng)).Should().Throw<ArgumentException>();
        new PatientBatchSampler(ds, 2, 2, minScansPerPatient: 2).Dataset.Should().BeSameAs(ds);
    }

    [Fact]
    public void Label_balanced_batches_have_equal_label_counts()
    {
        var ds = TestCohorts.Random(200, 1, 4, 14);
        var s = new LabelBalancedBatchSampler(ds, 64);
        s.Labels.Should().Equal(0, 1, 2, 3);
        var batch = new int[64];
        s.SampleBatch(batch, new Rng(2));
        batch.GroupBy(i => ds.Scans[i].CoarseLabel).Select(g => g.Count()).Should().AllBeEquivalentTo(16);
        var odd = new int[66];
        s.SampleBatch(odd, new Rng(3));
        odd.GroupBy(i => ds.Scans[i].CoarseLabel).Select(g => g.Count()).Should().OnlyContain(c => c == 16 || c == 17);
    }

    [Fact]
    public void Batch_samplers_are_deterministic_and_allocation_free()
    {
        var ds = TestCohorts.Random(300, 1, 6, 15);
        var b1 = new int[32];
        var b2 = new int[32];
        new PatientBatchSampler(ds, 8, 4).SampleBatch(b1, new Rng(7));
        new PatientBatchSampler(ds, 8, 4).SampleBatch(b2, new Rng(7));
        b1.Should().Equal(b2);
        new LabelBalancedBatchSampler(ds, 32).SampleBatch(b1, new Rng(8));
        new LabelBalancedBatchSampler(ds, 32).SampleBatch(b2, new Rng(8));
        b1.Should().Equal(b2);

        var pk = new PatientBatchSampler(ds, 8, 4);
        var lb = new LabelBalancedBatchSampler(ds, 32);
        var rng = new Rng(1);
        pk.SampleBatch(b1, rng);
        lb.SampleBatch(b1, rng);
        SteadyStateAllocations.Bytes(() => { for (int i = 0; i < 10; i++) { pk.SampleBatch(b1, rng); lb.SampleBatch(b1, rng); } }).Should().Be(0);
    }
}
