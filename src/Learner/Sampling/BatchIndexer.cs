using Learner.Data;
using Learner.Objectives;

namespace Learner.Sampling;

/// <summary>
/// Turns sampled pairs or triplets of dataset scans into a compact batch: the distinct scans (to load and embed once
/// each, in first-seen order) and the pairs or triplets as indices into that batch — the form the objectives read
/// (<see cref="IndexPair"/>, <see cref="IndexTriplet"/>). Allocates nothing per call.
/// </summary>
/// <example>
/// <code>
/// sampler.SampleBatch(pairs, rng);
/// int n = indexer.Index(pairs, batchScans, batchPairs);
/// Tensor x = dataset.LoadBatch(batchScans[..n]);   // embed x, then pass batchPairs to the objective
/// </code>
/// </example>
/// <remarks>Not thread-safe (it reuses its scratch arrays across calls): use one indexer per thread.</remarks>
public sealed class BatchIndexer
{
    private readonly int[] _slot;
    private readonly int[] _stamp;
    private int _generation;

    /// <summary>Creates an indexer for a dataset of <paramref name="scanCount"/> scans.</summary>
    /// <param name="scanCount">Number of scans in the dataset (<see cref="LongitudinalDataset.ScanCount"/>).</param>
    public BatchIndexer(int scanCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(scanCount);
        _slot = new int[scanCount];
        _stamp = new int[scanCount];
    }

    private void Begin()
    {
        if (++_generation == int.MaxValue)
        {
            Array.Clear(_stamp);
            _generation = 1;
        }
    }

    private int SlotOf(int scan, Span<int> batchScans, ref int count)
    {
        if ((uint)scan >= (uint)_slot.Length) throw new ArgumentOutOfRangeException(nameof(scan), scan, $"Scan index outside [0, {_slot.Length}).");
        if (_stamp[scan] == _generation) return _slot[scan];
        _stamp[scan] = _generation;
        _slot[scan] = count;
        batchScans[count] = scan;
        return count++;
    }

    /// <summary>Indexes pairs.</summary>
    /// <param name="pairs">Sampled pairs of dataset scans.</param>
    /// <param name="batchScans">Receives the distinct scans; room for 2 × pairs.Length is always enough.</param>
    /// <param name="batchPairs">Receives the pairs as batch indices (same length as <paramref name="pairs"/>), with the
    /// sampler's positive flag and score gap.</param>
    /// <returns>The number of distinct scans written to <paramref name="batchScans"/>.</returns>
    public int Index(ReadOnlySpan<ScanPair> pairs, Span<int> batchScans, Span<IndexPair> batchPairs)
    {
        if (batchPairs.Length < pairs.Length) throw new ArgumentException($"batchPairs holds {batchPairs.Length} pairs, {pairs.Length} are needed.", nameof(batchPairs));
        if (batchScans.Length < Math.Min(2 * pairs.Length, _slot.Length)) throw new ArgumentException($"batchScans needs room for up to {Math.Min(2 * pairs.Length, _slot.Length)} scans.", nameof(batchScans));
        Begin();
        int count = 0;
        for (int i = 0; i < pairs.Length; i++)
        {
            var p = pairs[i];
            int a = SlotOf(p.First, batchScans, ref count);
            int b = SlotOf(p.Second, batchScans, ref count);
            batchPairs[i] = new IndexPair(a, b, p.IsPositive, p.ScoreGap);
        }
        return count;
    }

    /// <summary>Indexes triplets.</summary>
    /// <param name="triplets">Sampled triplets of dataset scans.</param>
    /// <param name="batchScans">Receives the distinct scans; room for 3 × triplets.Length is always enough.</param>
    /// <param name="batchTriplets">Receives the triplets as batch indices.</param>
    /// <returns>The number of distinct scans written to <paramref name="batchScans"/>.</returns>
    public int Index(ReadOnlySpan<ScanTriplet> triplets, Span<int> batchScans, Span<IndexTriplet> batchTriplets)
    {
        if (batchTriplets.Length < triplets.Length) throw new ArgumentException($"batchTriplets holds {batchTriplets.Length} triplets, {triplets.Length} are needed.", nameof(batchTriplets));
        if (batchScans.Length < Math.Min(3 * triplets.Length, _slot.Length)) throw new ArgumentException($"batchScans needs room for up to {Math.Min(3 * triplets.Length, _slot.Length)} scans.", nameof(batchScans));
        Begin();
        int count = 0;
        for (int i = 0; i < triplets.Length; i++)
        {
            var t = triplets[i];
            int a = SlotOf(t.Anchor, batchScans, ref count);
            int p = SlotOf(t.Positive, batchScans, ref count);
            int n = SlotOf(t.Negative, batchScans, ref count);
            batchTriplets[i] = new IndexTriplet(a, p, n);
        }
        return count;
    }
}
