using System.Collections.Concurrent;
using System.Diagnostics;

namespace Learner.Data;

/// <summary>
/// A bounded in-memory store of decoded payloads, so that a run reads and decodes each scan's payload once rather than
/// once per view, epoch, validation pass and embedding pass. <see cref="LongitudinalDataset.LoadBatch(ReadOnlySpan{int}, int, Func{Nn.Tensor, int, Nn.Tensor}?)"/>
/// consults it; the payload is stored as the source returns it (after the finiteness check, before any augmentation).
/// </summary>
/// <remarks>
/// <para>Admission, not eviction: a payload is kept while the decoded bytes stay within <see cref="BudgetBytes"/>; once
/// the budget is full, further payloads are decoded on every use and nothing already held is dropped. For the cyclic
/// access of epochs this keeps a fixed share of the data hot (a least-recently-used policy would evict every entry just
/// before its next use when the data exceed the budget).</para>
/// <para>Payloads must not change during the cache's life (files are not re-read when they change on disk; a
/// <see cref="DelegatePayload"/> is called once). Results are bit-identical with and without the cache: the stored values
/// are the values the source returned. Entries are keyed by the payload object, so the datasets derived from one
/// another (<see cref="LongitudinalDataset.SubsetByPatients"/>, <see cref="LongitudinalDataset.WithCoarseScores(ScoreBinning)"/>,
/// …) share one cache. Thread-safe.</para>
/// </remarks>
public sealed class PayloadCache
{
    private readonly ConcurrentDictionary<IScanPayload, Entry> _entries = new(ReferenceEqualityComparer.Instance);
    private long _cachedBytes;
    private long _hits;
    private long _decodes;
    private long _loadTicks;
    private long _batches;

    /// <summary>Creates a cache.</summary>
    /// <param name="budgetBytes">The most decoded bytes held (≥ 0; 0 caches nothing, which keeps the statistics).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="budgetBytes"/> is negative.</exception>
    public PayloadCache(long budgetBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(budgetBytes);
        BudgetBytes = budgetBytes;
    }

    /// <summary>The budget a dataset's cache gets unless told otherwise: the environment variable
    /// <c>LEARNER_PAYLOAD_CACHE_MB</c> when set (mebibytes, 0 turns caching off), else a quarter of the memory available
    /// to the process, at most 4 GiB.</summary>
    /// <exception cref="InvalidOperationException">The environment variable is set but not a whole number ≥ 0.</exception>
    public static long DefaultBudgetBytes => ReadDefaultBudget();

    /// <summary>The most decoded bytes held.</summary>
    public long BudgetBytes { get; }

    /// <summary>Decoded bytes held now.</summary>
    public long CachedBytes => Interlocked.Read(ref _cachedBytes);

    /// <summary>Payloads held now.</summary>
    public int Count => _entries.Count;

    /// <summary>Counters since creation: decodes, hits and the time spent assembling batches.</summary>
    public PayloadCacheStatistics Statistics => new(Interlocked.Read(ref _decodes), Interlocked.Read(ref _hits),
        Interlocked.Read(ref _batches), Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _loadTicks)), CachedBytes, Count);

    /// <summary>The stored values of <paramref name="payload"/>, or null when it is not held.</summary>
    internal Entry? TryGet(IScanPayload payload)
    {
        if (!_entries.TryGetValue(payload, out var e)) return null;
        Interlocked.Increment(ref _hits);
        return e;
    }

    /// <summary>Counts a decode of <paramref name="payload"/> and keeps a copy of its values when the budget allows.</summary>
    internal void Offer(IScanPayload payload, ReadOnlySpan<float> values, int[] shape)
    {
        Interlocked.Increment(ref _decodes);
        long bytes = (long)values.Length * sizeof(float);
        if (bytes > BudgetBytes) return;
        long after = Interlocked.Add(ref _cachedBytes, bytes);
        if (after > BudgetBytes) { Interlocked.Add(ref _cachedBytes, -bytes); return; }
        if (!_entries.TryAdd(payload, new Entry(values.ToArray(), (int[])shape.Clone())))
            Interlocked.Add(ref _cachedBytes, -bytes); // another thread decoded it too
    }

    /// <summary>Adds the time of one assembled batch.</summary>
    internal void AddBatch(long startTimestamp)
    {
        Interlocked.Add(ref _loadTicks, Stopwatch.GetTimestamp() - startTimestamp);
        Interlocked.Increment(ref _batches);
    }

    /// <summary>Drops every held payload (the counters are kept).</summary>
    public void Clear()
    {
        foreach (var key in _entries.Keys)
            if (_entries.TryRemove(key, out var e)) Interlocked.Add(ref _cachedBytes, -(long)e.Values.Length * sizeof(float));
    }

    private static long ReadDefaultBudget() => ParseBudget(Environment.GetEnvironmentVariable("LEARNER_PAYLOAD_CACHE_MB"));

    /// <summary>The budget for a <c>LEARNER_PAYLOAD_CACHE_MB</c> value (null or blank: the memory-based default).</summary>
    internal static long ParseBudget(string? text)
    {
        if (!string.IsNullOrWhiteSpace(text))
        {
            if (!long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long mb) || mb > long.MaxValue / (1024 * 1024))
                throw new InvalidOperationException($"LEARNER_PAYLOAD_CACHE_MB = '{text}' is not a whole number of mebibytes ≥ 0.");
            return mb * 1024 * 1024;
        }
        long available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        return Math.Min(available / 4, 4L << 30);
    }

    /// <summary>One stored payload.</summary>
    internal sealed record Entry(float[] Values, int[] Shape);
}

/// <summary>What a <see cref="PayloadCache"/> has counted.</summary>
/// <param name="Decodes">Payloads read from their source (file reads, generator calls).</param>
/// <param name="Hits">Payloads served from the cache.</param>
/// <param name="Batches">Batches assembled by the dataset.</param>
/// <param name="LoadTime">Total time spent assembling those batches (decoding, copying, augmenting).</param>
/// <param name="CachedBytes">Decoded bytes held.</param>
/// <param name="CachedPayloads">Payloads held.</param>
public readonly record struct PayloadCacheStatistics(long Decodes, long Hits, long Batches, TimeSpan LoadTime, long CachedBytes, int CachedPayloads);
