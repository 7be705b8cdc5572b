using Learner.Nn;
using Learner.Objectives;
using Learner.Sampling;
using Learner.Tests.Data;

namespace Learner.Tests.Sampling;

public class BatchIndexerTests
{
    [Fact]
    public void Pairs_map_to_distinct_scans_and_back()
    {
        var ds = TestCohorts.Random(100, 1, 4, 30);
        var sampler = new InterPatientPairSampler(ds, new InterPatientPairOptions { NegativeGap = 80 });
        var pairs = new ScanPair[128];
        var scans = new int[256];
        var idx = new IndexPair[128];
        var indexer = new BatchIndexer(ds.ScanCount);
        var rng = new Rng(1);
        for (int round = 0; round < 5; round++)
        {
            sampler.SampleBatch(pairs, rng);
            int n = indexer.Index(pairs, scans, idx);
            scans.AsSpan(0, n).ToArray().Should().OnlyHaveUniqueItems();
            n.Should().Be(pairs.SelectMany(p => new[] { p.First, p.Second }).Distinct().Count());
            for (int i = 0; i < pairs.Length; i++)
            {
                scans[idx[i].First].Should().Be(pairs[i].First);
                scans[idx[i].Second].Should().Be(pairs[i].Second);
                idx[i].Positive.Should().Be(pairs[i].IsPositive);
            }
        }
        SteadyStateAllocations.Bytes(() => indexer.Index(pairs, scans, idx)).Should().Be(0);
    }

    [Fact]
    public void Triplets_map_to_batch_indices()
    {
        var triplets = new[] { new ScanTriplet(5, 7, 9, 0, 0), new ScanTriplet(7, 5, 2, 0, 0) };
        var scans = new int[6];
        var idx = new IndexTriplet[2];
        int n = new BatchIndexer(10).Index(triplets, scans, idx);
        n.Should().Be(4);
        scans.Take(4).Should().Equal(5, 7, 9, 2);
        idx.Should().Equal(new IndexTriplet(0, 1, 2), new IndexTriplet(1, 0, 3));
        FluentActions.Invoking(() => new BatchIndexer(3).Index(triplets, scans, idx)).Should().Throw<ArgumentOutOfRangeException>();
    }
}
