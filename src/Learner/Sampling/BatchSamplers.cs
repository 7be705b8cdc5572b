using Learner.Data;
using Learner.Nn;

namespace Learner.Sampling;

/// <summary>
/// P × K batches: <see cref="PatientsPerBatch"/> distinct patients, <see cref="ScansPerPatient"/> scans of each
/// (without replacement when the patient has enough scans, with replacement otherwise). Scans of one patient are
/// adjacent in the batch. Allocates nothing per batch.
/// </summary>
/// <remarks>Thread-safe: concurrent <see cref="SampleBatch"/> calls (each with its own <see cref="Rng"/>) are serialised, so a batch is a function of its generator alone whichever threads share the sampler.</remarks>
public sealed class PatientBatchSampler : IBatchSampler
{
    private readonly int[] _patients;   // eligible patient indices, partially shuffled in place per batch
    private readonly int[] _first, _count;
    private readonly int[] _scratch;
    private readonly int[] _swaps;

    /// <summary>Builds the sampler.</summary>
    /// <param name="dataset">The dataset.</param>
    /// <param name="patientsPerBatch">P, distinct patients per batch.</param>
    /// <param name="scansPerPatient">K, scans per patient.</param>
    /// <param name="minScansPerPatient">Patients with fewer scans are skipped (default 1).</param>
    /// <exception cref="ArgumentOutOfRangeException">P exceeds the number of eligible patients, or an argument is not positive.</exception>
    public PatientBatchSampler(LongitudinalDataset dataset, int patientsPerBatch, int scansPerPatient, int minScansPerPatient = 1)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (patientsPerBatch < 1) throw new ArgumentOutOfRangeException(nameof(patientsPerBatch), patientsPerBatch, "Must be positive.");
        if (scansPerPatient < 1) throw new ArgumentOutOfRangeException(nameof(scansPerPatient), scansPerPatient, "Must be positive.");
        if (minScansPerPatient < 1) throw new ArgumentOutOfRangeException(nameof(minScansPerPatient), minScansPerPatient, "Must be positive.");
        var eligible = dataset.Patients.Where(p => p.ScanCount >= minScansPerPatient).ToArray();
        if (eligible.Length < patientsPerBatch)
            throw new ArgumentOutOfRangeException(nameof(patientsPerBatch), patientsPerBatch, $"Only {eligible.Length} patient{(eligible.Length == 1 ? " has" : "s have")} at least {minScansPerPatient} scan{(minScansPerPatient == 1 ? "" : "s")}; cannot draw {patientsPerBatch} distinct patients per batch.");
        _patients = new int[eligible.Length];
        _first = new int[eligible.Length];
        _count = new int[eligible.Length];
        int maxScans = 0;
        for (int i = 0; i < eligible.Length; i++)
        {
            _patients[i] = i;
            _first[i] = eligible[i].FirstScanIndex;
            _count[i] = eligible[i].ScanCount;
            maxScans = Math.Max(maxScans, _count[i]);
        }
        _scratch = new int[maxScans];
        _swaps = new int[patientsPerBatch];
        PatientsPerBatch = patientsPerBatch;
        ScansPerPatient = scansPerPatient;
        Dataset = dataset;
    }

    /// <summary>The dataset.</summary>
    public LongitudinalDataset Dataset { get; }

    /// <summary>P.</summary>
    public int PatientsPerBatch { get; }

    /// <summary>K.</summary>
    public int ScansPerPatient { get; }

    /// <inheritdoc />
    public int BatchSize => PatientsPerBatch * ScansPerPatient;

    /// <summary>Fills <paramref name="destination"/> (length P × K) with scan indices.</summary>
    /// <param name="destination">The buffer.</param>
    /// <param name="rng">The generator.</param>
    public void SampleBatch(Span<int> destination, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (destination.Length != BatchSize)
            throw new ArgumentException($"The buffer holds {destination.Length} indices; a P×K batch needs {BatchSize}.", nameof(destination));
        // The partial shuffle permutes _patients in place and undoes it afterwards: two threads interleaving those swaps
        // would leave it permuted for good, and every later batch of every generator would differ. One batch at a time.
        lock (_patients) Fill(destination, rng);
    }

    private void Fill(Span<int> destination, Rng rng)
    {
        int k = ScansPerPatient, m = _patients.Length;
        for (int p = 0; p < PatientsPerBatch; p++)
        {
            int j = p + rng.NextInt(m - p); // partial Fisher–Yates: a uniform set of distinct patients
            (_patients[p], _patients[j]) = (_patients[j], _patients[p]);
            _swaps[p] = j;
            int pi = _patients[p], first = _first[pi], n = _count[pi];
            var dst = destination.Slice(p * k, k);
            if (n >= k)
            {
                var s = _scratch.AsSpan(0, n);
                for (int i = 0; i < n; i++) s[i] = i;
                for (int i = 0; i < k; i++)
                {
                    int r = i + rng.NextInt(n - i);
                    (s[i], s[r]) = (s[r], s[i]);
                    dst[i] = first + s[i];
                }
            }
            else
                for (int i = 0; i < k; i++) dst[i] = first + rng.NextInt(n);
        }
        // Undo the swaps so the batch is a function of the generator alone, not of earlier calls: a run resumed
        // at step s with the step's generator draws the same batch as an uninterrupted run.
        for (int p = PatientsPerBatch - 1; p >= 0; p--)
        {
            int j = _swaps[p];
            (_patients[p], _patients[j]) = (_patients[j], _patients[p]);
        }
    }
}

/// <summary>
/// Batches balanced by coarse label: each label present gets an equal share of the batch (the remainder goes to labels
/// chosen at random), scans drawn uniformly within a label; the batch is then shuffled. Allocates nothing per batch.
/// </summary>
/// <remarks>Thread-safe: concurrent <see cref="SampleBatch"/> calls (each with its own <see cref="Rng"/>) are serialised, so a batch is a function of its generator alone.</remarks>
public sealed class LabelBalancedBatchSampler : IBatchSampler
{
    private readonly int[] _byLabel;      // scan indices grouped by label
    private readonly int[] _start, _size; // per present label
    private readonly int[] _labelOrder;

    /// <summary>Builds the sampler.</summary>
    /// <param name="dataset">The dataset; every scan needs a coarse label.</param>
    /// <param name="batchSize">Scans per batch.</param>
    /// <exception cref="MissingLabelException">A scan has no coarse label.</exception>
    public LabelBalancedBatchSampler(LongitudinalDataset dataset, int batchSize)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "Must be positive.");
        if (dataset.ScanCount == 0) throw new ArgumentException("The dataset has no scans.", nameof(dataset));
        var groups = new SortedDictionary<int, List<int>>();
        foreach (var s in dataset.Scans)
        {
            int l = s.RequireLabel("label-balanced batch sampling");
            if (!groups.TryGetValue(l, out var list)) groups[l] = list = new List<int>();
            list.Add(s.Index);
        }
        Labels = groups.Keys.ToArray();
        _byLabel = groups.Values.SelectMany(x => x).ToArray();
        _start = new int[groups.Count];
        _size = new int[groups.Count];
        int o = 0, g = 0;
        foreach (var list in groups.Values) { _start[g] = o; _size[g] = list.Count; o += list.Count; g++; }
        _labelOrder = new int[groups.Count];
        BatchSize = batchSize;
        Dataset = dataset;
    }

    /// <summary>The dataset.</summary>
    public LongitudinalDataset Dataset { get; }

    /// <summary>The labels present, increasing.</summary>
    public IReadOnlyList<int> Labels { get; }

    /// <inheritdoc />
    public int BatchSize { get; }

    /// <summary>Fills <paramref name="destination"/> with a label-balanced, shuffled batch of scan indices (any length).</summary>
    /// <param name="destination">The buffer.</param>
    /// <param name="rng">The generator.</param>
    public void SampleBatch(Span<int> destination, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        lock (_labelOrder) Fill(destination, rng);
    }

    private void Fill(Span<int> destination, Rng rng)
    {
        int labels = _start.Length, b = destination.Length;
        int share = b / labels, extra = b % labels;
        for (int i = 0; i < labels; i++) _labelOrder[i] = i;
        rng.Shuffle(_labelOrder.AsSpan());
        int o = 0;
        for (int i = 0; i < labels; i++)
        {
            int g = _labelOrder[i];
            int take = share + (i < extra ? 1 : 0);
            for (int t = 0; t < take; t++) destination[o++] = _byLabel[_start[g] + rng.NextInt(_size[g])];
        }
        rng.Shuffle(destination);
    }
}
