using Learner.Data;
using Learner.Nn;

namespace Learner.Tests.Data;

/// <summary>Small hand-made datasets for tests.</summary>
internal static class TestCohorts
{
    /// <summary>Patients with random scores in [100, 500] over a few visits, labels by edges 200/300/400.</summary>
    public static LongitudinalDataset Random(int patients, int minScans, int maxScans, ulong seed, bool higherIsHealthier = true, bool withPayload = false)
    {
        var rng = new Rng(seed);
        var binning = new ScoreBinning(new[] { 200.0, 300.0, 400.0 }, higherIsHealthier);
        var scans = new List<Scan>();
        for (int p = 0; p < patients; p++)
        {
            int n = rng.NextInt(minScans, maxScans + 1);
            double baseScore = 100 + 400 * rng.NextDouble();
            for (int v = 0; v < n; v++)
            {
                double s = Math.Clamp(baseScore + 30 * rng.NextGaussian(), 100, 500);
                var payload = withPayload ? new TensorPayload(Tensor.Full((float)s, 2, 3)) : null;
                scans.Add(new Scan($"s{p}-{v}", $"p{p}", v, s, binning.Assign(s), payload));
            }
        }
        return new LongitudinalDataset(scans, higherIsHealthier);
    }
}
