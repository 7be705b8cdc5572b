using Learner.Data;
using Learner.Nn;

namespace Learner.Sampling;

/// <summary>How scans of two consecutive visits are paired when a visit holds several scans (e.g. four clips).</summary>
public enum VisitPairing
{
    /// <summary>Every scan of visit t with every scan of visit t + 1.</summary>
    AllScans,

    /// <summary>The k-th scan of visit t with the k-th scan of visit t + 1 (k up to the smaller count).</summary>
    MatchedScans,

    /// <summary>Only the first scan of each visit.</summary>
    FirstScan,
}

/// <summary>
/// Same-patient pairs of consecutive visits (t, t + 1) with their <see cref="ChangeLabel"/>: the downstream task of
/// LEARNER (classify the change from the embedding difference u(t + 1) − u(t)). Patients with a single visit give no
/// pair; they are counted in <see cref="SingleVisitPatientCount"/>, not treated as errors.
/// </summary>
/// <remarks>Change labels and <see cref="ConsecutivePair.HealthChange"/> come from each scan's
/// <see cref="Scan.ChangeScore"/>: the exact score when the scan has one, its (possibly coarse) pretraining score
/// otherwise — so a cohort pretrained on coarse scores is still judged on exact change.</remarks>
/// <remarks>Immutable after construction, so safe to share between threads (each with its own <see cref="Rng"/>).</remarks>
public sealed class IntraPatientPairSampler : IScanSampler<ConsecutivePair>
{
    private readonly ConsecutivePair[] _pairs;

    /// <summary>Builds every consecutive-visit pair of every patient.</summary>
    /// <param name="dataset">The dataset.</param>
    /// <param name="thresholds">The change thresholds (the dataset's score direction is respected).</param>
    /// <param name="pairing">How scans of two visits are paired.</param>
    /// <exception cref="MissingScoreException">A scan in a pair has no finite change score (neither a finite exact score
    /// nor, without one, a finite score); the message names the scan and that change labels need it.</exception>
    public IntraPatientPairSampler(LongitudinalDataset dataset, ChangeThresholds thresholds, VisitPairing pairing = VisitPairing.AllScans)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(thresholds);
        if (!Enum.IsDefined(pairing)) throw new ArgumentOutOfRangeException(nameof(pairing), pairing, "Unknown pairing.");
        Dataset = dataset;
        Thresholds = thresholds;
        Pairing = pairing;
        var pairs = new List<ConsecutivePair>();
        var counts = new int[3];
        int single = 0;
        const string purpose = "labelling intra-patient change";
        foreach (var patient in dataset.Patients)
        {
            if (patient.VisitCount < 2) { single++; continue; }
            var scans = patient.Scans;
            int start = 0;
            while (start < scans.Count)
            {
                int mid = start;
                while (mid < scans.Count && scans[mid].VisitIndex == scans[start].VisitIndex) mid++;
                if (mid >= scans.Count) break;
                int end = mid;
                while (end < scans.Count && scans[end].VisitIndex == scans[mid].VisitIndex) end++;
                // Visit [start, mid) → visit [mid, end)
                int na = mid - start, nb = end - mid;
                for (int i = 0; i < na; i++)
                    for (int j = 0; j < nb; j++)
                    {
                        if (pairing == VisitPairing.MatchedScans && i != j) continue;
                        if (pairing == VisitPairing.FirstScan && (i != 0 || j != 0)) continue;
                        var before = scans[start + i];
                        var after = scans[mid + j];
                        double sb = before.RequireChangeScore(purpose), sa = after.RequireChangeScore(purpose);
                        var label = thresholds.Classify(sb, sa, dataset.HigherIsHealthier);
                        counts[(int)label]++;
                        pairs.Add(new ConsecutivePair(before.Index, after.Index, label, (float)thresholds.HealthChange(sb, sa, dataset.HigherIsHealthier)));
                    }
                start = mid;
            }
        }
        _pairs = pairs.ToArray();
        SingleVisitPatientCount = single;
        CountByChange = counts;
    }

    /// <summary>The dataset.</summary>
    public LongitudinalDataset Dataset { get; }

    /// <summary>The thresholds.</summary>
    public ChangeThresholds Thresholds { get; }

    /// <summary>The pairing of scans within visits.</summary>
    public VisitPairing Pairing { get; }

    /// <summary>Every pair, by patient and visit.</summary>
    public IReadOnlyList<ConsecutivePair> Pairs => _pairs;

    /// <summary>Number of patients with a single visit (no pair).</summary>
    public int SingleVisitPatientCount { get; }

    /// <summary>Pairs per change label, indexed by <see cref="ChangeLabel"/> (worsened, stable, improved).</summary>
    public IReadOnlyList<int> CountByChange { get; }

    /// <summary>Fills <paramref name="destination"/> with pairs drawn uniformly with replacement. Allocates nothing.</summary>
    /// <param name="destination">The buffer.</param>
    /// <param name="rng">The generator.</param>
    /// <exception cref="SamplingException">The dataset has no consecutive-visit pair.</exception>
    public void SampleBatch(Span<ConsecutivePair> destination, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (_pairs.Length == 0)
            throw new SamplingException($"No intra-patient pairs: all {Dataset.PatientCount} patients have a single visit.");
        for (int i = 0; i < destination.Length; i++) destination[i] = _pairs[rng.NextInt(_pairs.Length)];
    }
}
