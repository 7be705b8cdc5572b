using Learner.Objectives.Distances;
using Learner.Objectives.Miners;
using Learner.Objectives.Reducers;

namespace Learner.Objectives.Kernels;

/// <summary>
/// Evaluates a pairwise penalty over a <see cref="PairSelection"/> with its exact gradient: explicit pairs one by one
/// (exact distances), all pairs through row tiles of the GEMM distance matrix with the gradient pushed back by two
/// GEMMs per tile. Memory is O(tile·B), reused. The loss is kept as its positive and negative parts.
/// </summary>
/// <remarks>A <see cref="CountReducer"/> whose factors are <see cref="CountReducer.Uniform"/> needs one pass (the
/// gradient is scaled once at the end). Otherwise the pairs are visited twice: first counting (and, for a reducer that
/// is not a count reducer, storing every term: B(B−1)/2 values for all pairs, the upper triangle row by row), then the gradient with each pair's
/// coefficient scaled by its weight (a single tile keeps its distance block between the passes). The reducer is called
/// once per batch, never per pair.</remarks>
internal sealed class PairLossEngine
{
    /// <summary>A pair outside the selection (all-pairs term buffers).</summary>
    private const byte Skipped = 0xFF;

    private readonly Workspace<float> _dist = new(), _coef = new();
    private readonly Workspace<double> _rowLoss = new(), _terms = new(), _weights = new(), _compact = new(), _compactWeights = new();
    private readonly Workspace<long> _rowCounts = new();
    private readonly Workspace<int> _patients = new();
    private readonly Workspace<byte> _kinds = new();
    private readonly Workspace<TermKind> _compactKinds = new();

    /// <summary>Runs the penalty; writes the reduced gradient into <paramref name="grad"/> when not empty.</summary>
    public PairLossResult Run<T>(T penalty, PairDistance distance, in EmbeddingBatch batch, in PairSelection selection,
        ReducerBase reducer, Span<float> grad) where T : struct, IPairPenalty
    {
        int n = batch.Count, d = batch.Dimension;
        bool wantGrad = !grad.IsEmpty;
        distance.Prepare(batch.Embeddings, n, d);
        bool reuse = Tiling.Rows(n, n) >= n;
        if (reducer is CountReducer counts)
        {
            PairStats stats;
            if (counts.Uniform)
            {
                if (wantGrad) distance.BeginGradient();
                stats = Pass(penalty, distance, selection, n, wantGrad, 1f, 1f, null, false, reuseBlock: false);
                var (scale, _) = counts.Scales(stats.Counts);
                if (wantGrad) distance.FinishGradient(grad, (float)scale);
                return new PairLossResult(stats, stats.PositiveSum * scale, stats.NegativeSum * scale);
            }
            stats = Pass(penalty, distance, selection, n, wantGrad: false, 1f, 1f, null, false, reuseBlock: false);
            var (ps, ns) = counts.Scales(stats.Counts);
            if (wantGrad)
            {
                distance.BeginGradient();
                Pass(penalty, distance, selection, n, wantGrad: true, (float)ps, (float)ns, null, false, reuseBlock: reuse);
                distance.FinishGradient(grad, 1f);
            }
            return new PairLossResult(stats, stats.PositiveSum * ps, stats.NegativeSum * ns);
        }
        // A reducer over the term vector: store the terms, weigh them once, then push the weighted gradient back.
        long size = selection.AllPairs ? (long)n * (n - 1) / 2 : selection.Explicit.Length;
        if (size > int.MaxValue) throw new ArgumentOutOfRangeException(nameof(batch), n, $"{reducer.GetType().Name}: {size} pair terms do not fit one buffer; use a count reducer or fewer pairs.");
        _terms.Get((int)size); _kinds.Get((int)size);
        var stats2 = Pass(penalty, distance, selection, n, wantGrad: false, 1f, 1f, null, record: true, reuseBlock: false);
        var (pos, neg) = Weigh(reducer, (int)size, stats2.Count);
        if (wantGrad)
        {
            distance.BeginGradient();
            Pass(penalty, distance, selection, n, wantGrad: true, 1f, 1f, _weights.Array, false, reuseBlock: reuse);
            distance.FinishGradient(grad, 1f);
        }
        return new PairLossResult(stats2, pos, neg);
    }

    /// <summary>Gathers the stored terms, lets the reducer weigh them, scatters the weights back to the term buffer's
    /// layout and returns the weighted positive and negative parts.</summary>
    private (double Positive, double Negative) Weigh(ReducerBase reducer, int size, long count)
    {
        var terms = _terms.Array; var kinds = _kinds.Array;
        var compact = _compact.Get((int)count); var compactKinds = _compactKinds.Get((int)count); var w = _compactWeights.Get((int)count);
        int k = 0;
        for (int t = 0; t < size; t++)
        {
            if (kinds[t] == Skipped) continue;
            compact[k] = terms[t]; compactKinds[k] = (TermKind)kinds[t]; k++;
        }
        reducer.Weights(compact, compactKinds, w);
        var weights = _weights.Get(size);
        double pos = 0, neg = 0;
        k = 0;
        for (int t = 0; t < size; t++)
        {
            if (kinds[t] == Skipped) { weights[t] = 0; continue; }
            weights[t] = w[k];
            if (compactKinds[k] == TermKind.PositivePair) pos += w[k] * compact[k]; else neg += w[k] * compact[k];
            k++;
        }
        return (pos, neg);
    }

    private PairStats Pass<T>(T penalty, PairDistance distance, in PairSelection selection, int n, bool wantGrad,
        float posScale, float negScale, double[]? weights, bool record, bool reuseBlock) where T : struct, IPairPenalty
    {
        double ps = 0, ns = 0;
        long pc = 0, pa = 0, nc = 0, na = 0;
        if (!selection.AllPairs)
        {
            var terms = record ? _terms.Array : null; var kinds = record ? _kinds.Array : null;
            int k = 0;
            foreach (var p in selection.Explicit)
            {
                double dist = distance.Pair(p.First, p.Second);
                bool positive = penalty.IsPositive(p.First, p.Second, p.Positive, p.ScoreGap);
                double l = penalty.Evaluate(p.First, p.Second, positive, p.ScoreGap, dist, out double g);
                if (positive) { ps += l; pc++; if (l != 0) pa++; }
                else { ns += l; nc++; if (l != 0) na++; }
                if (terms is not null) { terms[k] = l; kinds![k] = (byte)(positive ? TermKind.PositivePair : TermKind.NegativePair); }
                double c = weights is null ? g * (positive ? posScale : negScale) : g * weights[k];
                if (wantGrad && c != 0) distance.AccumulatePair(p.First, p.Second, c, dist);
                k++;
            }
            return new PairStats(ps, pc, pa, ns, nc, na);
        }
        int tileRows = Tiling.Rows(n, n);
        var dist0 = _dist.Get(tileRows * n);
        _coef.Get(tileRows * n);
        _rowLoss.Get(2 * n);
        _rowCounts.Get(4 * n);
        var lossArr = _rowLoss.Array; var countArr = _rowCounts.Array;
        int[]? patients = null;
        if (selection.FiltersPatients)
        {
            _patients.Get(n); patients = _patients.Array;
            for (int i = 0; i < n; i++) patients[i] = selection.Patient(i);
        }
        var sink = new RowSink(_dist.Array, _coef.Array, patients, lossArr, countArr, posScale, negScale, weights,
            record ? _terms.Array : null, record ? _kinds.Array : null);
        for (int i0 = 0; i0 < n; i0 += tileRows)
        {
            int rows = Math.Min(tileRows, n - i0);
            if (!reuseBlock) distance.Block(i0, rows, dist0);
            RowParallel.Run(new RowsJob<T>(penalty, i0, n, sink), rows, n);
            if (wantGrad) distance.AccumulateBlock(i0, rows, _coef.Array.AsSpan(0, rows * n), dist0);
        }
        for (int i = 0; i < n; i++)
        {
            ps += lossArr[2 * i]; ns += lossArr[2 * i + 1];
            pc += countArr[4 * i]; pa += countArr[4 * i + 1]; nc += countArr[4 * i + 2]; na += countArr[4 * i + 3];
        }
        return new PairStats(ps, pc, pa, ns, nc, na);
    }

    /// <summary>Where the rows of one all-pairs pass read and write: the tile's distances and coefficients, per-row sums
    /// and counts, the pair weights (the upper triangle, or null for the two scales) and the term record (the upper
    /// triangle, or null).</summary>
    private readonly record struct RowSink(float[] Dist, float[] Coef, int[]? Patients, double[] Loss, long[] Counts, float PosScale, float NegScale,
        double[]? Weights, double[]? Terms, byte[]? Kinds);

    private readonly struct RowsJob<T> : IRowJob where T : struct, IPairPenalty
    {
        private readonly T _penalty;
        private readonly int _start, _n;
        private readonly RowSink _sink;

        public RowsJob(T penalty, int start, int n, RowSink sink) { _penalty = penalty; _start = start; _n = n; _sink = sink; }

        public void Run(int r0, int r1, int worker)
        {
            for (int r = r0; r < r1; r++) Row(_penalty, _start + r, _n, r, _sink);
        }
    }

    /// <summary>Where row <paramref name="i"/>'s pairs (i, j) with j &gt; i start in the upper triangle stored row by row:
    /// Σ_{r&lt;i} (n − 1 − r). The caller has checked that n(n − 1)/2 fits an int.</summary>
    internal static int TriangleRow(int i, int n) => (int)((long)i * (n - 1) - (long)i * (i - 1) / 2);

    private static void Row<T>(T penalty, int i, int n, int r, in RowSink s) where T : struct, IPairPenalty
    {
        var dist = s.Dist.AsSpan(r * n, n);
        var coef = s.Coef.AsSpan(r * n, n);
        var patients = s.Patients;
        // Row i's pairs (i, j > i) in the triangular term buffers, indexed j − i − 1.
        int offset = TriangleRow(i, n), length = n - 1 - i;
        var weights = s.Weights is null ? default : s.Weights.AsSpan(offset, length);
        var terms = s.Terms is null ? default : s.Terms.AsSpan(offset, length);
        var kinds = s.Kinds is null ? default : s.Kinds.AsSpan(offset, length);
        bool weighted = s.Weights is not null, record = s.Terms is not null;
        coef.Slice(0, i + 1).Clear();
        double ps = 0, ns = 0; long pc = 0, pa = 0, nc = 0, na = 0;
        for (int j = i + 1; j < n; j++)
        {
            if (patients is not null && patients[i] == patients[j])
            {
                coef[j] = 0f;
                if (record) kinds[j - i - 1] = Skipped;
                continue;
            }
            bool positive = penalty.IsPositive(i, j, false, float.NaN);
            double l = penalty.Evaluate(i, j, positive, float.NaN, dist[j], out double g);
            if (positive) { ps += l; pc++; if (l != 0) pa++; }
            else { ns += l; nc++; if (l != 0) na++; }
            coef[j] = weighted ? (float)(g * weights[j - i - 1]) : (float)g * (positive ? s.PosScale : s.NegScale);
            if (record) { terms[j - i - 1] = l; kinds[j - i - 1] = (byte)(positive ? TermKind.PositivePair : TermKind.NegativePair); }
        }
        s.Loss[2 * i] = ps; s.Loss[2 * i + 1] = ns;
        s.Counts[4 * i] = pc; s.Counts[4 * i + 1] = pa; s.Counts[4 * i + 2] = nc; s.Counts[4 * i + 3] = na;
    }
}

/// <summary>Sums and counts of a pair objective's positive and negative pairs on one batch.</summary>
/// <param name="PositiveSum">Σ ℓ over the positive pairs.</param>
/// <param name="Positives">Number of positive pairs visited.</param>
/// <param name="PositiveActive">Positive pairs with ℓ ≠ 0.</param>
/// <param name="NegativeSum">Σ ℓ over the negative pairs.</param>
/// <param name="Negatives">Number of negative pairs visited.</param>
/// <param name="NegativeActive">Negative pairs with ℓ ≠ 0.</param>
internal readonly record struct PairStats(double PositiveSum, long Positives, long PositiveActive, double NegativeSum, long Negatives, long NegativeActive)
{
    /// <summary>All pairs visited.</summary>
    public long Count => Positives + Negatives;

    /// <summary>All pairs with ℓ ≠ 0.</summary>
    public long Active => PositiveActive + NegativeActive;

    /// <summary>The counts a reducer reads.</summary>
    public TermCounts Counts => new(Count, Active, Positives, PositiveActive);
}

/// <summary>The reduced loss of a pair objective, kept as its positive and negative parts.</summary>
/// <param name="Stats">The sums and counts.</param>
/// <param name="PositivePart">The positive pairs' share of the loss (Σ w·ℓ over them).</param>
/// <param name="NegativePart">The negative pairs' share of the loss.</param>
internal readonly record struct PairLossResult(PairStats Stats, double PositivePart, double NegativePart)
{
    /// <summary>The loss.</summary>
    public double Loss => PositivePart + NegativePart;

    /// <summary>The loss and the number of non-zero pair terms.</summary>
    public static implicit operator (double Loss, int Active)(PairLossResult r) => (r.Loss, (int)Math.Min(r.Stats.Active, int.MaxValue));
}
