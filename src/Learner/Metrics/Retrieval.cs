using System.Globalization;
using Learner.Nn.Kernels;

namespace Learner.Metrics;

/// <summary>
/// Retrieval of scans with the same coarse label: precision@1 and MAP@R (Musgrave, Belongie &amp; Lim, "A Metric
/// Learning Reality Check", ECCV 2020), with cosine similarity.
/// </summary>
/// <remarks>
/// <para>Every item is a query against all the other items (the query itself is excluded). For a query with label
/// <c>y</c>, <c>R</c> is the number of other items labelled <c>y</c>; the others are ranked by decreasing cosine
/// similarity (ties broken by lower item index, so results are deterministic) and
/// <c>AP@R = (1/R) Σ_{i≤R} P(i)·rel(i)</c>, where <c>rel(i)</c> says whether the i-th retrieved item has label
/// <c>y</c> and <c>P(i)</c> is the precision of the first <c>i</c>. Precision@1 is <c>rel(1)</c>. Both are averaged over
/// the queries; queries whose label has no other item (<c>R = 0</c>) are skipped and counted in
/// <see cref="RetrievalReport.SkippedQueries"/>. With no scorable query both metrics are NaN.</para>
/// <para>Similarities are computed in float32, a tile of query rows at a time, with <see cref="Gemm.Sgemm"/> on
/// L2-normalised embeddings: memory is <c>O(tile·N)</c>, never <c>N×N</c>. Queries within a tile run in parallel;
/// the result does not depend on the thread count.</para>
/// </remarks>
public static class Retrieval
{
    /// <summary>Floats of similarity held at once (tile rows × N).</summary>
    internal const int TileBudget = 1 << 20;

    /// <summary>Computes precision@1 and MAP@R of every item as a query.</summary>
    /// <param name="embeddings">Row-major <c>N×D</c> embeddings, finite, no zero rows.</param>
    /// <param name="dimension">The embedding dimension <c>D</c>.</param>
    /// <param name="labels">The coarse label of each item (length <c>N</c>; any integers).</param>
    /// <returns>The report.</returns>
    /// <exception cref="ArgumentException">The embedding length is not <c>N·D</c>, a value is not finite, or a row has zero norm.</exception>
    public static RetrievalReport Evaluate(ReadOnlySpan<float> embeddings, int dimension, ReadOnlySpan<int> labels)
        => Evaluate(embeddings, dimension, labels, TileBudget);

    internal static RetrievalReport Evaluate(ReadOnlySpan<float> embeddings, int dimension, ReadOnlySpan<int> labels, int tileBudget)
    {
        if (dimension < 1) throw new ArgumentOutOfRangeException(nameof(dimension), dimension, "The embedding dimension must be at least 1.");
        int n = labels.Length;
        if (embeddings.Length != (long)n * dimension)
            throw new ArgumentException($"'{nameof(embeddings)}' has {embeddings.Length} elements; {n} labels of dimension {dimension} need {(long)n * dimension}.", nameof(embeddings));
        MetricInput.Finite(embeddings, nameof(embeddings));

        var unit = Normalise(embeddings, dimension, n);
        var label = labels.ToArray();
        var counts = new Dictionary<int, int>();
        foreach (int l in label) counts[l] = counts.GetValueOrDefault(l) + 1;

        var averagePrecision = new double[n];
        var hitAt1 = new double[n];
        var scored = new bool[n];
        int tile = (int)Math.Clamp(tileBudget / Math.Max(n, 1), 1, Math.Max(n, 1));
        var similarities = new float[(long)tile * n];
        // The queries of a tile split over the engine's threads (its one parallel runtime, within the caller's budget);
        // each query's scores are its own, so the split changes no result.
        int parts = Math.Max(1, Math.Min(WorkerPool.Threads, tile));
        var keys = Enumerable.Range(0, parts).Select(_ => new ulong[Math.Max(n - 1, 1)]).ToArray();
        for (int q0 = 0; q0 < n; q0 += tile)
        {
            int rows = Math.Min(tile, n - q0);
            Gemm.Sgemm(false, true, rows, n, dimension, 1f, unit.AsSpan(q0 * dimension, rows * dimension), dimension,
                unit, dimension, 0f, similarities, n);
            var job = new QueryJob
            {
                Similarities = similarities, Labels = label, Counts = counts, Keys = keys, Scored = scored,
                AveragePrecision = averagePrecision, HitAt1 = hitAt1, First = q0, Rows = rows, N = n, Parts = Math.Min(parts, rows),
            };
            WorkerPool.Run(ref job, job.Parts);
        }

        int queries = 0;
        double apSum = 0, p1Sum = 0;
        for (int q = 0; q < n; q++)
        {
            if (!scored[q]) continue;
            queries++;
            apSum += averagePrecision[q];
            p1Sum += hitAt1[q];
        }
        return new RetrievalReport(
            queries == 0 ? double.NaN : p1Sum / queries,
            queries == 0 ? double.NaN : apSum / queries,
            queries,
            n - queries);
    }

    /// <summary>Scores the queries [First, First + Rows) of one tile, part p taking a contiguous share with its own keys.</summary>
    private struct QueryJob : IParallelJob
    {
        public float[] Similarities;
        public int[] Labels;
        public Dictionary<int, int> Counts;
        public ulong[][] Keys;
        public bool[] Scored;
        public double[] AveragePrecision, HitAt1;
        public int First, Rows, N, Parts;

        public readonly void RunPart(int part)
        {
            int r0 = (int)((long)Rows * part / Parts), r1 = (int)((long)Rows * (part + 1) / Parts);
            for (int r = r0; r < r1; r++)
            {
                int q = First + r;
                int relevant = Counts[Labels[q]] - 1;
                if (relevant == 0) continue;
                Scored[q] = true;
                ScoreQuery(Similarities.AsSpan(r * N, N), Labels, q, relevant, Keys[part], out AveragePrecision[q], out HitAt1[q]);
            }
        }
    }

    private static void ScoreQuery(ReadOnlySpan<float> similarity, int[] label, int q, int relevant, ulong[] keys, out double averagePrecision, out double hitAt1)
    {
        int n = similarity.Length, m = 0;
        for (int j = 0; j < n; j++)
        {
            if (j == q) continue;
            keys[m++] = ((ulong)DescendingKey(similarity[j]) << 32) | (uint)j;
        }
        var span = keys.AsSpan(0, m);
        SelectSmallest(span, relevant);
        span[..relevant].Sort();
        int target = label[q], hits = 0;
        double sum = 0;
        for (int i = 0; i < relevant; i++)
        {
            if (label[(int)(uint)span[i]] != target) continue;
            hits++;
            sum += (double)hits / (i + 1);
        }
        averagePrecision = sum / relevant;
        hitAt1 = label[(int)(uint)span[0]] == target ? 1 : 0;
    }

    /// <summary>A key whose ascending order is the descending order of <paramref name="value"/> (−0 and +0 equal).</summary>
    private static uint DescendingKey(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value + 0f);
        uint ascending = (bits & 0x8000_0000u) != 0 ? ~bits : bits | 0x8000_0000u;
        return ~ascending;
    }

    /// <summary>Reorders distinct <paramref name="a"/> so that its first <paramref name="count"/> elements are its smallest (in any order).</summary>
    internal static void SelectSmallest(Span<ulong> a, int count)
    {
        if (count <= 0 || count >= a.Length) return;
        int nth = count - 1, lo = 0, hi = a.Length - 1;
        while (hi > lo)
        {
            int mid = lo + ((hi - lo) >> 1);
            ulong x = a[lo], y = a[mid], z = a[hi];
            ulong pivot = Math.Max(Math.Min(x, y), Math.Min(Math.Max(x, y), z));
            int i = lo, j = hi;
            while (i <= j)
            {
                while (a[i] < pivot) i++;
                while (a[j] > pivot) j--;
                if (i <= j) { (a[i], a[j]) = (a[j], a[i]); i++; j--; }
            }
            if (nth <= j) hi = j;
            else if (nth >= i) lo = i;
            else break;
        }
    }

    private static float[] Normalise(ReadOnlySpan<float> embeddings, int dimension, int n)
    {
        var unit = new float[embeddings.Length];
        for (int i = 0; i < n; i++)
        {
            var row = embeddings.Slice(i * dimension, dimension);
            double squares = 0;
            foreach (float v in row) squares += (double)v * v;
            if (squares == 0)
                throw new ArgumentException($"'{nameof(embeddings)}' row {i} has zero norm; its cosine similarity is undefined.", nameof(embeddings));
            double scale = 1.0 / Math.Sqrt(squares);
            for (int t = 0; t < dimension; t++) unit[i * dimension + t] = (float)(row[t] * scale);
        }
        return unit;
    }
}

/// <summary>The result of <see cref="Retrieval.Evaluate(ReadOnlySpan{float}, int, ReadOnlySpan{int})"/>.</summary>
/// <param name="PrecisionAt1">Mean precision@1 over the scored queries (NaN when none).</param>
/// <param name="MapAtR">Mean average precision at R over the scored queries (NaN when none).</param>
/// <param name="Queries">Number of scored queries.</param>
/// <param name="SkippedQueries">Queries skipped because no other item shares their label.</param>
public sealed record RetrievalReport(double PrecisionAt1, double MapAtR, int Queries, int SkippedQueries)
{
    /// <summary>One line with both metrics and the query counts.</summary>
    /// <returns>The summary, invariant culture.</returns>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"retrieval: precision@1 {PrecisionAt1:0.0000}, MAP@R {MapAtR:0.0000} ({Queries} queries, {SkippedQueries} skipped)");
}
