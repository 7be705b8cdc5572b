using Learner.Data;
using Learner.Nn;
using Learner.Sampling;

namespace Learner.Tests.Sampling;

public class BatchSamplerHistoryTests
{
    [Fact]
    public void A_batch_depends_only_on_the_generator_not_on_earlier_calls()
    {
        var scans = Enumerable.Range(0, 40).Select(i => new Scan($"s{i}", $"p{i / 4}", i % 4, 100 + i, coarseLabel: i % 3)).ToList();
        var data = new LongitudinalDataset(scans, higherIsHealthier: true);
        foreach (IBatchSampler sampler in new IBatchSampler[] { new PatientBatchSampler(data, 3, 2), new LabelBalancedBatchSampler(data, 6) })
        {
            var fresh = new int[sampler.BatchSize];
            sampler.SampleBatch(fresh, new Rng(5).Fork(9));
            var warm = new int[sampler.BatchSize];
            for (int i = 0; i < 7; i++) sampler.SampleBatch(warm, new Rng((ulong)i)); // unrelated history
            sampler.SampleBatch(warm, new Rng(5).Fork(9));
            warm.Should().Equal(fresh, sampler.GetType().Name);
        }
    }
}
