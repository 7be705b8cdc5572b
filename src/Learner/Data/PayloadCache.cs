using System.Collections.Concurrent;
using System.Diagnostics;
using Learner.Data.Formats;
using Learner.Nn;

namespace Learner.Data;

/// <summary>
/// A bounded in-memory store of decoded payloads, so that a run reads and decodes each scan's payload once rather than
/// once per view, epoch, validation pass and embedding pass. <see cref="LongitudinalDataset.LoadBatch(ReadOnlySpan{int}, int, Func{Nn.Tensor, int, Nn.Tensor}?)"/>
/// consults it; the payload is stored as the source returns it (after the finiteness check, before any augmentation).
/// </summary>
/// <remarks>
/// <para>Admission, not eviction: a payload is kept while the decoded bytes stay within <see cref="BudgetBytes"/> and
/// within the process-wide budget every cache shares (<see cref="DefaultBudgetBytes"/>); once either is full, further
/// payloads are decoded on every use and nothing already held is dropped. For the cyclic access of epochs this keeps a
/// fixed share of the data hot (a least-recently-used policy would evict every entry just before its next use when the
/// data exceed the budget).</para>
/// <para>Memory-mapped NPY: a <c>.npy</c> file of float32 in the machine's byte order and C order is not decoded: the
/// cache holds a read-only memory map of it and batches copy straight from the mapped pages (the same bits the decoding
/// reader returns). Files under 64 KiB are decoded instead (a mapping costs a page and one of the process's limited
/// mappings), and a file that cannot be mapped is decoded. A mapping counts against the budgets in whole pages; it holds
/// no open file (the descriptor is closed once the view exists). A mapped file that is truncated or rewritten
/// during the run is refused with a <see cref="PayloadFormatException"/> naming it (length and last-write time are
/// compared before each use). <see cref="Clear"/> unmaps every mapped file; a cache collected without it is unmapped by the
/// maps' finalizers.</para>
/// <para>Finiteness is checked once per payload, when it enters (is decoded, mapped, or first read from a
/// <see cref="TensorPayload"/>), never again per batch.</para>
/// <para>Payloads must not change during the cache's life (decoded files are not re-read when they change on disk; a
/// <see cref="DelegatePayload"/> is called once). Results are bit-identical with and without the cache: the stored values
/// are the values the source returned. Entries are keyed by the payload object, so the datasets derived from one
/// another (<see cref="LongitudinalDataset.SubsetByPatients"/>, <see cref="LongitudinalDataset.WithCoarseScores(ScoreBinning)"/>,
/// …) share one cache. Thread-safe.</para>
/// </remarks>
public sealed class PayloadCache
{
    private readonly ConcurrentDictionary<IScanPayload, Entry> _entries = new(ReferenceEqualityComparer.Instance);
    private readonly ConcurrentDictionary<(IScanPayload Source, ScanNormalization Normalization), IScanPayload> _views = new(ViewKeyComparer.Instance);
    private readonly ConcurrentQueue<Entry> _retired = new(); // maps dropped while a batch may still read them
    private readonly PayloadBudget _shared;
    private long _cachedBytes;
    private long _hits;
    private long _decodes;
    private long _mapped;
    private long _loadTicks;
    private long _batches;

    /// <summary>Creates a cache.</summary>
    /// <param name="budgetBytes">The most decoded bytes this cache holds (≥ 0; 0 caches nothing, which keeps the
    /// statistics). What every cache holds together is bounded by <see cref="DefaultBudgetBytes"/> as well.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="budgetBytes"/> is negative.</exception>
    public PayloadCache(long budgetBytes) : this(budgetBytes, PayloadBudget.Process)
    {
    }

    /// <summary>Creates a cache that claims from <paramref name="shared"/> instead of the process's budget.</summary>
    internal PayloadCache(long budgetBytes, PayloadBudget shared)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(budgetBytes);
        ArgumentNullException.ThrowIfNull(shared);
        BudgetBytes = budgetBytes;
        _shared = shared;
    }

    /// <summary>Gives the held bytes back to the shared budget when a cache is collected without <see cref="Clear"/>
    /// (its memory maps, collected with it, are unmapped by their own finalizers).</summary>
    ~PayloadCache() => _shared?.Release(Interlocked.Exchange(ref _cachedBytes, 0)); // null when the constructor threw

    /// <summary>The budget of the whole process, shared by every cache, and the budget a dataset's cache gets unless told
    /// otherwise: the environment variable <c>LEARNER_PAYLOAD_CACHE_MB</c> when set (mebibytes, 0 turns caching off),
    /// else a quarter of the memory available to the process, at most 4 GiB. The process-wide limit is read once, at the
    /// first cache's first payload.</summary>
    /// <exception cref="InvalidOperationException">The environment variable is set but not a whole number ≥ 0.</exception>
    public static long DefaultBudgetBytes => ReadDefaultBudget();

    /// <summary>The most decoded bytes held.</summary>
    public long BudgetBytes { get; }

    /// <summary>Decoded (or mapped) bytes held now.</summary>
    public long CachedBytes => Interlocked.Read(ref _cachedBytes);

    /// <summary>Payloads held now.</summary>
    public int Count => _entries.Count;

    /// <summary>Counters since creation: decodes, hits and the time spent assembling batches.</summary>
    public PayloadCacheStatistics Statistics => new(Interlocked.Read(ref _decodes), Interlocked.Read(ref _hits),
        Interlocked.Read(ref _batches), Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _loadTicks)), CachedBytes, Count, Interlocked.Read(ref _mapped));

    /// <summary>The values of <paramref name="scan"/>'s payload, checked finite once: held in memory (a
    /// <see cref="TensorPayload"/>), from the cache, mapped in place (an NPY file that needs no conversion), or decoded
    /// now (then offered to the cache; the decoded tensor belongs to the current scope). <paramref name="shape"/> is
    /// shared: read it, never write it.</summary>
    /// <exception cref="LearnerDataException">The scan has no payload, or reading it failed (a subtype names the file).</exception>
    internal ReadOnlySpan<float> ValuesOf(Scan scan, out int[] shape)
    {
        switch (scan.Payload)
        {
            case null:
                throw new LearnerDataException($"Scan '{scan.Id}' has no payload.");
            case TensorPayload inMemory:
                shape = inMemory.ShapeRef;
                return inMemory.CheckedValues(scan.Id);
            case { } payload when _entries.TryGetValue(payload, out var entry):
                Interlocked.Increment(ref _hits);
                shape = entry.Shape;
                return entry.Values;
            case FilePayload file when MappedNpy.IsCandidate(file.Path) && HasRoom() && TryMap(file, scan.Id) is { } mapped:
                shape = mapped.Shape;
                return mapped.Values;
        }
        var t = scan.LoadPayload();
        shape = t.ShapeArray;
        Offer(scan.Payload, t.Data, shape);
        return t.Data;
    }

    private bool HasRoom() => CachedBytes < BudgetBytes && _shared.HeldBytes < _shared.LimitBytes;

    /// <summary>Maps an NPY file and keeps the map when it needs no conversion and fits the budgets; null otherwise (the
    /// file is then decoded).</summary>
    private Entry? TryMap(FilePayload file, string scanId)
    {
        var map = MappedNpy.TryOpen(file.Path, file.Options);
        if (map is null) return null;
        if (!Claim(map.MappedBytes)) { map.Dispose(); return null; } // no room: decoded on each use, not scanned here
        try
        {
            PayloadValues.CheckFinite(map.Values, map.Shape, scanId, file.Path, file.ManifestPath, file.ManifestLine);
        }
        catch
        {
            Release(map.MappedBytes);
            map.Dispose();
            throw;
        }
        Interlocked.Increment(ref _decodes);
        var entry = new Entry(map);
        if (_entries.TryAdd(file, entry))
        {
            Interlocked.Increment(ref _mapped);
            return entry;
        }
        Release(map.MappedBytes); // another thread mapped it too
        map.Dispose();
        return _entries.TryGetValue(file, out var other) ? other : null;
    }

    /// <summary>The normalised view of <paramref name="source"/> under <paramref name="normalization"/>: made by
    /// <paramref name="create"/> once, then the same object, so that normalising the datasets of this cache again (the
    /// pretrainer, then an embedding pass) finds the values already cached.</summary>
    internal IScanPayload NormalizedView(IScanPayload source, ScanNormalization normalization, Func<IScanPayload, IScanPayload> create) =>
        _views.GetOrAdd((source, normalization), key => create(key.Source));

    private sealed class ViewKeyComparer : IEqualityComparer<(IScanPayload Source, ScanNormalization Normalization)>
    {
        public static readonly ViewKeyComparer Instance = new();

        public bool Equals((IScanPayload Source, ScanNormalization Normalization) x, (IScanPayload Source, ScanNormalization Normalization) y) =>
            ReferenceEquals(x.Source, y.Source) && x.Normalization == y.Normalization;

        public int GetHashCode((IScanPayload Source, ScanNormalization Normalization) key) =>
            HashCode.Combine(System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(key.Source), key.Normalization);
    }

    /// <summary>A new tensor of <paramref name="payload"/>'s values for a view derived from it (a normalised payload): taken
    /// from the cache when held there — the entry is then dropped, as the derived view is cached in its place — else
    /// loaded from the source. So a payload decoded by a preflight check is not decoded again for the normalised run.
    /// A dropped memory map is not unmapped here (another thread may be copying from it): it is kept aside, its bytes
    /// given back to the budgets, and unmapped by <see cref="Clear"/> or when the cache is collected.</summary>
    internal Nn.Tensor LoadForDerivedView(IScanPayload payload)
    {
        if (!_entries.TryRemove(payload, out var entry)) return payload.Load();
        try
        {
            Interlocked.Increment(ref _hits);
            return Nn.Tensor.FromSpan(entry.Values, entry.Shape);
        }
        finally
        {
            Release(entry.Bytes);
            if (entry.IsMapped) _retired.Enqueue(entry);
        }
    }

    /// <summary>Counts a decode of <paramref name="payload"/> and keeps a copy of its values when the budgets allow.</summary>
    internal void Offer(IScanPayload payload, ReadOnlySpan<float> values, int[] shape)
    {
        Interlocked.Increment(ref _decodes);
        long bytes = (long)values.Length * sizeof(float);
        if (!Claim(bytes)) return;
        if (!_entries.TryAdd(payload, new Entry(values.ToArray(), (int[])shape.Clone())))
            Release(bytes); // another thread decoded it too
    }

    /// <summary>Claims <paramref name="bytes"/> from this cache's budget and the shared one, or neither.</summary>
    private bool Claim(long bytes)
    {
        if (bytes > BudgetBytes) return false;
        long after = Interlocked.Add(ref _cachedBytes, bytes);
        if (after > BudgetBytes) { Interlocked.Add(ref _cachedBytes, -bytes); return false; }
        if (_shared.TryClaim(bytes)) return true;
        Interlocked.Add(ref _cachedBytes, -bytes);
        return false;
    }

    private void Release(long bytes)
    {
        Interlocked.Add(ref _cachedBytes, -bytes);
        _shared.Release(bytes);
    }

    /// <summary>Adds the time of one assembled batch.</summary>
    internal void AddBatch(long startTimestamp)
    {
        Interlocked.Add(ref _loadTicks, Stopwatch.GetTimestamp() - startTimestamp);
        Interlocked.Increment(ref _batches);
    }

    /// <summary>Drops every held payload and unmaps every mapped file, giving their bytes back to the budgets (the
    /// counters are kept). Call it when no batch is being assembled from this cache.</summary>
    public void Clear()
    {
        foreach (var key in _entries.Keys)
            if (_entries.TryRemove(key, out var e))
            {
                Release(e.Bytes);
                e.Dispose();
            }
        while (_retired.TryDequeue(out var retired)) retired.Dispose();
    }

    private static long ReadDefaultBudget() => ParseBudget(Environment.GetEnvironmentVariable("LEARNER_PAYLOAD_CACHE_MB"));

    /// <summary>The budget for a <c>LEARNER_PAYLOAD_CACHE_MB</c> value (null or blank: the memory-based default).</summary>
    internal static long ParseBudget(string? text) =>
        EnvironmentSettings.Mebibytes("LEARNER_PAYLOAD_CACHE_MB", text) ?? Math.Min(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 4, 4L << 30);

    /// <summary>One stored payload: decoded values, or a memory map of its file.</summary>
    private sealed class Entry
    {
        private readonly float[]? _values;
        private readonly MappedNpy? _map;

        public Entry(float[] values, int[] shape) { _values = values; Shape = shape; }

        public Entry(MappedNpy map) { _map = map; Shape = map.Shape; }

        public int[] Shape { get; }

        public long Bytes => _map?.MappedBytes ?? (long)_values!.Length * sizeof(float);

        public bool IsMapped => _map is not null;

        /// <summary>The values; a mapped file is first checked to be unchanged.</summary>
        public ReadOnlySpan<float> Values
        {
            get
            {
                if (_map is null) return _values;
                _map.CheckUnchanged();
                return _map.Values;
            }
        }

        public void Dispose() => _map?.Dispose();
    }
}

/// <summary>What a <see cref="PayloadCache"/> has counted.</summary>
/// <param name="Decodes">Payloads read from their source (file reads and maps, generator calls).</param>
/// <param name="Hits">Payloads served from the cache.</param>
/// <param name="Batches">Batches assembled by the dataset.</param>
/// <param name="LoadTime">Total time spent assembling those batches (decoding, copying, augmenting).</param>
/// <param name="CachedBytes">Decoded (or mapped) bytes held.</param>
/// <param name="CachedPayloads">Payloads held.</param>
/// <param name="MappedPayloads">Payloads read in place through a memory map (NPY files that need no conversion), of
/// those counted in <paramref name="Decodes"/>.</param>
public readonly record struct PayloadCacheStatistics(long Decodes, long Hits, long Batches, TimeSpan LoadTime, long CachedBytes, int CachedPayloads, long MappedPayloads = 0);
