namespace Learner.Objectives.Miners;

/// <summary>One anchor's view of the batch for dense miners: its positives' indices and its negatives' distances
/// sorted ascending (with their indices), gathered into per-worker scratch.</summary>
internal ref struct AnchorRow
{
    /// <summary>Indices of the positives (same label, not the anchor).</summary>
    public Span<int> Positives;
    /// <summary>The negatives' distances, ascending.</summary>
    public Span<float> NegativeDistances;
    /// <summary>The negatives' indices, in the order of <see cref="NegativeDistances"/>.</summary>
    public Span<int> Negatives;

    /// <summary>Gathers anchor <paramref name="a"/>'s positives and sorted negatives from its distance row.</summary>
    public static AnchorRow Gather(int a, ReadOnlySpan<float> row, ReadOnlySpan<int> labels, Span<int> posScratch, Span<float> negDist, Span<int> negIdx)
    {
        int np = 0, nn = 0, la = labels[a];
        for (int j = 0; j < row.Length; j++)
        {
            if (labels[j] == la) { if (j != a) posScratch[np++] = j; }
            else { negDist[nn] = row[j]; negIdx[nn++] = j; }
        }
        var r = new AnchorRow { Positives = posScratch.Slice(0, np), NegativeDistances = negDist.Slice(0, nn), Negatives = negIdx.Slice(0, nn) };
        r.NegativeDistances.Sort(r.Negatives);
        return r;
    }

    /// <summary>Number of sorted negative distances ≤ <paramref name="x"/>.</summary>
    public readonly int CountAtMost(float x)
    {
        int lo = 0, hi = NegativeDistances.Length;
        while (lo < hi) { int mid = (lo + hi) >>> 1; if (NegativeDistances[mid] <= x) lo = mid + 1; else hi = mid; }
        return lo;
    }
}
