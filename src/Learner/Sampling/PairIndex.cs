using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Learner.Data;
using Learner.Nn;

namespace Learner.Sampling;

/// <summary>How positives (similar-health pairs of different patients) are defined.</summary>
public enum PositiveRule
{
    /// <summary>The two scans share a coarse label.</summary>
    SameCoarseLabel,

    /// <summary>The two scores differ by at most the positive threshold.</summary>
    ScoreWithin,
}

/// <summary>
/// The index behind the inter-patient samplers: scans sorted by score (O(N log N), once), with, for every scan, the
/// range of its positive partners and — per negative gap, rebuilt in O(N) when the gap changes — the two ranges of
/// its negative partners. A draw is then a few array reads and generator calls: no search, no allocation.
/// </summary>
internal sealed class PairIndex
{
    [StructLayout(LayoutKind.Sequential)]
    internal struct Entry
    {
        public double Score;
        public int Patient;
        public int Scan;
        public int PosLo, PosHi; // positive partners: [PosLo, PosHi) in sorted space (ScoreWithin) or label space
        public int NegLo, NegHi; // negative partners: [0, NegLo) ∪ [NegHi, N) in sorted space
    }

    /// <summary>What the last pass needs of a partner: 16 bytes, four to a cache line.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct Partner
    {
        public double Score;
        public int Patient;
        public int Scan;
    }

    private readonly Entry[] _e;
    private readonly Partner[] _sortedPartners; // sorted space
    private readonly Partner[] _labelPartners;  // label space (empty for ScoreWithin)
    private int _negPrefix, _negSuffixStart;    // range mode: negative anchors are [0, prefix) ∪ [suffixStart, N)
    private bool _negRangeMode;
    private readonly int[] _byLabel;         // label space: sorted positions grouped by label (empty for ScoreWithin)
    private readonly int[] _nextDiffSorted;  // first index > k (sorted space) whose patient differs from entry k's
    private readonly int[] _nextDiffLabel;   // same, in label space
    private readonly int[] _posEligible;     // sorted positions with at least one positive partner of another patient
    private readonly bool[] _hasPositive;
    private readonly int[] _negEligible;     // sorted positions with a negative partner at the current gap
    private readonly bool[] _hasNegative;
    private int _negCount;

    public PairIndex(LongitudinalDataset dataset, PositiveRule rule, double positiveThreshold, string purpose)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (dataset.PatientCount < 2) throw new SamplingException($"Inter-patient sampling needs at least two patients; the dataset has {dataset.PatientCount}.");
        Rule = rule;
        PositiveThreshold = positiveThreshold;
        int n = dataset.ScanCount;
        var scans = dataset.Scans;
        var scores = new double[n];
        var labels = new int[n];
        for (int i = 0; i < n; i++)
        {
            scores[i] = scans[i].RequireScore(purpose);
            labels[i] = rule == PositiveRule.SameCoarseLabel ? scans[i].RequireLabel(purpose) : 0;
        }
        var order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        // Sort by (score, scan index): deterministic whatever the sort algorithm.
        Array.Sort(order, (a, b) => { int c = scores[a].CompareTo(scores[b]); return c != 0 ? c : a.CompareTo(b); });
        _e = new Entry[n];
        for (int k = 0; k < n; k++)
        {
            int s = order[k];
            _e[k].Score = scores[s];
            _e[k].Patient = scans[s].PatientIndex;
            _e[k].Scan = s;
        }
        _sortedPartners = new Partner[n];
        for (int k = 0; k < n; k++) _sortedPartners[k] = new Partner { Score = _e[k].Score, Patient = _e[k].Patient, Scan = _e[k].Scan };
        MinScore = _e[0].Score;
        MaxScore = _e[n - 1].Score;
        _nextDiffSorted = NextDiff(_e, null);

        if (rule == PositiveRule.ScoreWithin)
        {
            _byLabel = Array.Empty<int>();
            _nextDiffLabel = Array.Empty<int>();
            _labelPartners = Array.Empty<Partner>();
            int lo = 0, hi = 0;
            for (int k = 0; k < n; k++)
            {
                double s = _e[k].Score;
                while (s - _e[lo].Score > positiveThreshold) lo++;
                if (hi < k) hi = k;
                while (hi < n && _e[hi].Score - s <= positiveThreshold) hi++;
                _e[k].PosLo = lo;
                _e[k].PosHi = hi;
            }
        }
        else
        {
            // Group sorted positions by label (stable: score order within a label).
            int maxLabel = 0;
            for (int k = 0; k < n; k++) maxLabel = Math.Max(maxLabel, labels[_e[k].Scan]);
            var start = new int[maxLabel + 2];
            for (int k = 0; k < n; k++) start[labels[_e[k].Scan] + 1]++;
            for (int l = 0; l <= maxLabel; l++) start[l + 1] += start[l];
            var fill = (int[])start.Clone();
            _byLabel = new int[n];
            for (int k = 0; k < n; k++) _byLabel[fill[labels[_e[k].Scan]]++] = k;
            for (int k = 0; k < n; k++)
            {
                int l = labels[_e[k].Scan];
                _e[k].PosLo = start[l];
                _e[k].PosHi = start[l + 1];
            }
            _nextDiffLabel = NextDiff(_e, _byLabel);
            _labelPartners = new Partner[n];
            for (int j = 0; j < n; j++) _labelPartners[j] = _sortedPartners[_byLabel[j]];
        }

        _hasPositive = new bool[n];
        var eligible = new List<int>(n);
        for (int k = 0; k < n; k++)
        {
            ref var a = ref _e[k];
            bool ok = HasOtherPatient(a.PosLo, a.PosHi, a.Patient, Rule == PositiveRule.ScoreWithin ? null : _byLabel, Rule == PositiveRule.ScoreWithin ? _nextDiffSorted : _nextDiffLabel);
            _hasPositive[k] = ok;
            if (ok) eligible.Add(k);
        }
        _posEligible = eligible.ToArray();
        _hasNegative = new bool[n];
        _negEligible = new int[n];
    }

    public PositiveRule Rule { get; }
    public double PositiveThreshold { get; }
    public double MinScore { get; }
    public double MaxScore { get; }
    public int Count => _e.Length;
    public double Gap { get; private set; } = double.NaN;
    public int PositiveAnchorCount => _posEligible.Length;
    public int NegativeAnchorCount => _negCount;
    internal ReadOnlySpan<Entry> Entries => _e;

    private static int[] NextDiff(Entry[] e, int[]? space)
    {
        int n = space?.Length ?? e.Length;
        var next = new int[n];
        next[n - 1] = n;
        for (int k = n - 2; k >= 0; k--)
        {
            int pk = e[space is null ? k : space[k]].Patient, pk1 = e[space is null ? k + 1 : space[k + 1]].Patient;
            next[k] = pk1 != pk ? k + 1 : next[k + 1];
        }
        return next;
    }

    /// <summary>Whether [lo, hi) of a space holds an entry of a patient other than <paramref name="patient"/>.</summary>
    private bool HasOtherPatient(int lo, int hi, int patient, int[]? space, int[] nextDiff)
    {
        if (lo >= hi) return false;
        int first = space is null ? lo : space[lo];
        return _e[first].Patient != patient || nextDiff[lo] < hi;
    }

    /// <summary>Sets the negative gap: O(N) two-pointer sweep.</summary>
    public void SetGap(double gap)
    {
        if (!(gap > 0) || !double.IsFinite(gap)) throw new ArgumentOutOfRangeException(nameof(gap), gap, "The negative gap must be finite and positive.");
        if (Rule == PositiveRule.ScoreWithin && gap <= PositiveThreshold)
            throw new ArgumentOutOfRangeException(nameof(gap), gap, $"The negative gap must exceed the positive threshold {PositiveThreshold} so that no pair is both positive and negative.");
        int n = _e.Length;
        int lo = 0, hi = 0, count = 0;
        for (int k = 0; k < n; k++)
        {
            double s = _e[k].Score;
            // lo: number of entries j with s - score_j >= gap (a prefix, since s - score_j decreases in j).
            while (lo < n && s - _e[lo].Score >= gap) lo++;
            // hi: first entry j with score_j - s >= gap.
            if (hi < k) hi = k;
            while (hi < n && !(_e[hi].Score - s >= gap)) hi++;
            ref var a = ref _e[k];
            a.NegLo = lo;
            a.NegHi = hi;
            bool ok = HasOtherPatient(0, lo, a.Patient, null, _nextDiffSorted) || HasOtherPatient(hi, n, a.Patient, null, _nextDiffSorted);
            _hasNegative[k] = ok;
            if (ok) _negEligible[count++] = k;
        }
        if (count == 0) throw new NoNegativesException(gap, MinScore, MaxScore);
        _negCount = count;
        Gap = gap;
        // Every anchor with a negative lies in the prefix of scores ≤ max − gap or the suffix of scores ≥ min + gap.
        // When all of those qualify (the usual case), anchors are drawn from the two ranges directly: no indirection.
        int prefix = 0, suffix = n;
        while (prefix < n && MaxScore - _e[prefix].Score >= gap) prefix++;
        while (suffix > 0 && _e[suffix - 1].Score - MinScore >= gap) suffix--;
        int suffixStart = Math.Max(prefix, suffix);
        _negRangeMode = prefix + (n - suffixStart) == count;
        _negPrefix = prefix;
        _negSuffixStart = suffixStart;
    }

    public bool HasPositive(int k) => _hasPositive[k];

    public bool HasNegative(int k) => _hasNegative[k];

    /// <summary>Branch-free <c>r &lt; lo ? 0 : shift</c> (the two sides are equally likely, so a branch would mispredict).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int Step(int r, int lo, int shift) => shift & ((lo - 1 - r) >> 31);

    /// <summary>Maps 32 random bits to [0, n) by multiply-shift (Lemire, without the rejection step: the bias is below n / 2^32).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int Scale(uint bits, int n) => (int)(((ulong)bits * (uint)n) >> 32);

    /// <summary>A positive anchor from 32 random bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int PositiveAnchor(uint bits) => _posEligible.Length == _e.Length ? Scale(bits, _e.Length) : _posEligible[Scale(bits, _posEligible.Length)];

    /// <summary>A negative anchor from 32 random bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int NegativeAnchor(uint bits)
    {
        int r = Scale(bits, _negCount);
        if (!_negRangeMode) return _negEligible[r];
        return r + Step(r, _negPrefix, _negSuffixStart - _negPrefix);
    }

    /// <summary>
    /// Fills <paramref name="destination"/> with pairs: the first <paramref name="positives"/> positive, the rest negative.
    /// Three passes, so that the random reads of each pass are independent across the batch and overlap in the memory
    /// system instead of forming one chain per pair; the destination holds the intermediate values. One 64-bit draw
    /// per pair: the high half picks the anchor, the low half (parked in Second) the partner. A partner of the anchor's
    /// own patient (rare) is redrawn among the other patients' scans.
    /// </summary>
    public void FillPairs(Span<ScanPair> destination, int positives, Rng rng)
    {
        int n = destination.Length;
        ref ScanPair d0 = ref MemoryMarshal.GetReference(destination);
        ref Entry e0 = ref MemoryMarshal.GetArrayDataReference(_e);
        var local = new LocalRandom(rng);
        for (int i = 0; i < n; i++)
        {
            ulong x = local.NextUInt64();
            bool pos = i < positives;
            int a = pos ? PositiveAnchor((uint)(x >> 32)) : NegativeAnchor((uint)(x >> 32));
            Unsafe.Add(ref d0, i) = new ScanPair(a, unchecked((int)(uint)x), pos, 0);
        }
        local.WriteBack(rng);
        // Positive partners stay in their own space (label space under the label rule) so the last pass reads one
        // compact record instead of following an index.
        for (int i = 0; i < positives; i++)
        {
            ref ScanPair d = ref Unsafe.Add(ref d0, i);
            ref Entry a = ref Unsafe.Add(ref e0, d.First);
            d = d with { Second = a.PosLo + Scale(unchecked((uint)d.Second), a.PosHi - a.PosLo) };
        }
        int total = _e.Length;
        for (int i = positives; i < n; i++)
        {
            ref ScanPair d = ref Unsafe.Add(ref d0, i);
            ref Entry a = ref Unsafe.Add(ref e0, d.First);
            int lo = a.NegLo;
            int r = Scale(unchecked((uint)d.Second), lo + (total - a.NegHi));
            d = d with { Second = r + Step(r, lo, a.NegHi - lo) };
        }
        var sortedPartners = _sortedPartners;
        Finish(destination[..positives], Rule == PositiveRule.ScoreWithin ? sortedPartners : _labelPartners, rng);
        Finish(destination[positives..], sortedPartners, rng);
    }

    /// <summary>The last pass: resolve the partner record, redraw the rare partner of the anchor's own patient, write the pair.</summary>
    private void Finish(Span<ScanPair> pairs, Partner[] partners, Rng rng)
    {
        ref ScanPair d0 = ref MemoryMarshal.GetReference(pairs);
        ref Entry e0 = ref MemoryMarshal.GetArrayDataReference(_e);
        ref Partner p0 = ref MemoryMarshal.GetArrayDataReference(partners);
        for (int i = 0; i < pairs.Length; i++)
        {
            ref ScanPair d = ref Unsafe.Add(ref d0, i);
            int ai = d.First;
            ref Entry a = ref Unsafe.Add(ref e0, ai);
            Partner b = Unsafe.Add(ref p0, d.Second);
            if (b.Patient == a.Patient) // the anchor's own patient: redraw among the other patients' scans
                b = _sortedPartners[d.IsPositive ? PositivePartner(ai, rng) : NegativePartner(ai, rng)];
            d = new ScanPair(a.Scan, b.Scan, d.IsPositive, (float)Math.Abs(a.Score - b.Score));
        }
    }

    /// <summary>A uniformly drawn positive partner (sorted position) of anchor <paramref name="k"/>, of another patient.</summary>
    public int PositivePartner(int k, Rng rng)
    {
        ref var a = ref _e[k];
        int lo = a.PosLo, span = a.PosHi - a.PosLo, patient = a.Patient;
        bool direct = Rule == PositiveRule.ScoreWithin;
        for (int attempt = 0; attempt < 16; attempt++)
        {
            int j = lo + rng.NextInt(span);
            if (!direct) j = _byLabel[j];
            if (_e[j].Patient != patient) return j;
        }
        // Crowded by the anchor's own patient: walk from a random start to the next scan of another patient.
        int startAt = rng.NextInt(span);
        for (int t = 0; t < span; t++)
        {
            int j = lo + (startAt + t) % span;
            if (!direct) j = _byLabel[j];
            if (_e[j].Patient != patient) return j;
        }
        throw new InvalidOperationException("Positive anchor without a partner (index invariant broken).");
    }

    /// <summary>A uniformly drawn negative partner (sorted position) of anchor <paramref name="k"/>, of another patient.</summary>
    public int NegativePartner(int k, Rng rng)
    {
        ref var a = ref _e[k];
        int lo = a.NegLo, hi = a.NegHi, patient = a.Patient;
        int count = lo + (_e.Length - hi);
        for (int attempt = 0; attempt < 16; attempt++)
        {
            int r = rng.NextInt(count);
            int j = r < lo ? r : hi + (r - lo);
            if (_e[j].Patient != patient) return j;
        }
        int startAt = rng.NextInt(count);
        for (int t = 0; t < count; t++)
        {
            int r = (startAt + t) % count;
            int j = r < lo ? r : hi + (r - lo);
            if (_e[j].Patient != patient) return j;
        }
        throw new InvalidOperationException("Negative anchor without a partner (index invariant broken).");
    }
}
