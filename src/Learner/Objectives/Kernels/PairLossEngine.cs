using Learner.Objectives.Distances;
using Learner.Objectives.Miners;
using Learner.Objectives.Reducers;

namespace Learner.Objectives.Kernels;

/// <summary>
/// Evaluates a pairwise penalty over a <see cref="PairSelection"/> with its exact gradient: explicit pairs one by one
/// (exact distances), all pairs through row tiles of the GEMM distance matrix with the gradient pushed back by two
/// GEMMs per tile. Memory is O(tile·B), reused. The loss is kept as its positive and negative parts.
/// </summary>
/// <remarks>With <see cref="Reduction.PositiveNegativeMeansOverActive"/> the two parts have different scales that are
/// known only once every pair was seen, so the pairs are visited twice: counting first, then the gradient with each
/// pair's coefficient scaled by its part's factor (a single tile keeps its distance block between the passes).</remarks>
internal sealed class PairLossEngine
{
    private readonly Workspace<float> _dist = new(), _coef = new();
    private readonly Workspace<double> _rowLoss = new();
    private readonly Workspace<long> _rowCounts = new();
    private readonly Workspace<int> _patients = new();

    /// <summary>Runs the penalty; writes the reduced gradient into <paramref name="grad"/> when not empty.</summary>
    public PairLossResult Run<T>(T penalty, PairDistance distance, in EmbeddingBatch batch, in PairSelection selection,
        Reduction reduction, Span<float> grad) where T : struct, IPairPenalty
    {
        int n = batch.Count, d = batch.Dimension;
        bool wantGrad = !grad.IsEmpty;
        bool separate = reduction == Reduction.PositiveNegativeMeansOverActive;
        distance.Prepare(batch.Embeddings, n, d);
        PairStats stats;
        if (!separate)
        {
            if (wantGrad) distance.BeginGradient();
            stats = Pass(penalty, distance, selection, n, wantGrad, 1f, 1f, reuseBlock: false);
            var (scale, _) = Reducer.Scales(reduction, stats);
            if (wantGrad) distance.FinishGradient(grad, (float)scale);
            return new PairLossResult(stats, scale, scale);
        }
        stats = Pass(penalty, distance, selection, n, wantGrad: false, 1f, 1f, reuseBlock: false);
        var (ps, ns) = Reducer.Scales(reduction, stats);
        if (wantGrad)
        {
            distance.BeginGradient();
            Pass(penalty, distance, selection, n, wantGrad: true, (float)ps, (float)ns, reuseBlock: Tiling.Rows(n, n) >= n);
            distance.FinishGradient(grad, 1f);
        }
        return new PairLossResult(stats, ps, ns);
    }

    private PairStats Pass<T>(T penalty, PairDistance distance, in PairSelection selection, int n, bool wantGrad,
        float posScale, float negScale, bool reuseBlock) where T : struct, IPairPenalty
    {
        double ps = 0, ns = 0;
        long pc = 0, pa = 0, nc = 0, na = 0;
        if (!selection.AllPairs)
        {
            foreach (var p in selection.Explicit)
            {
                double dist = distance.Pair(p.First, p.Second);
                double l = penalty.Evaluate(p.First, p.Second, p.Positive, p.ScoreGap, dist, out double g);
                bool positive = penalty.IsPositive(p.First, p.Second, p.Positive, p.ScoreGap);
                if (positive) { ps += l; pc++; if (l != 0) pa++; }
                else { ns += l; nc++; if (l != 0) na++; }
                if (wantGrad && g != 0) distance.AccumulatePair(p.First, p.Second, g * (positive ? posScale : negScale), dist);
            }
            return new PairStats(ps, pc, pa, ns, nc, na);
        }
        int tileRows = Tiling.Rows(n, n);
        var dist0 = _dist.Get(tileRows * n);
        _coef.Get(tileRows * n);
        _rowLoss.Get(2 * n);
        _rowCounts.Get(4 * n);
        var distArr = _dist.Array; var coefArr = _coef.Array; var lossArr = _rowLoss.Array; var countArr = _rowCounts.Array;
        int[]? patients = null;
        if (selection.FiltersPatients)
        {
            _patients.Get(n); patients = _patients.Array;
            for (int i = 0; i < n; i++) patients[i] = selection.Patient(i);
        }
        for (int i0 = 0; i0 < n; i0 += tileRows)
        {
            int rows = Math.Min(tileRows, n - i0);
            if (!reuseBlock) distance.Block(i0, rows, dist0);
            RowParallel.Run(new RowsJob<T>(penalty, i0, n, distArr, coefArr, patients, lossArr, countArr, posScale, negScale), rows, n);
            if (wantGrad) distance.AccumulateBlock(i0, rows, _coef.Array.AsSpan(0, rows * n), dist0);
        }
        for (int i = 0; i < n; i++)
        {
            ps += lossArr[2 * i]; ns += lossArr[2 * i + 1];
            pc += countArr[4 * i]; pa += countArr[4 * i + 1]; nc += countArr[4 * i + 2]; na += countArr[4 * i + 3];
        }
        return new PairStats(ps, pc, pa, ns, nc, na);
    }

    private readonly struct RowsJob<T> : IRowJob where T : struct, IPairPenalty
    {
        private readonly T _penalty;
        private readonly int _start, _n;
        private readonly float[] _dist, _coef;
        private readonly int[]? _patients;
        private readonly double[] _loss;
        private readonly long[] _counts;
        private readonly float _posScale, _negScale;

        public RowsJob(T penalty, int start, int n, float[] dist, float[] coef, int[]? patients, double[] loss, long[] counts, float posScale, float negScale)
        {
            _penalty = penalty; _start = start; _n = n; _dist = dist; _coef = coef; _patients = patients; _loss = loss; _counts = counts;
            _posScale = posScale; _negScale = negScale;
        }

        public void Run(int r0, int r1, int worker)
        {
            for (int r = r0; r < r1; r++)
                Row(_penalty, _start + r, _n, _dist.AsSpan(r * _n, _n), _coef.AsSpan(r * _n, _n), _patients, _loss, _counts, _posScale, _negScale);
        }
    }

    private static void Row<T>(T penalty, int i, int n, Span<float> dist, Span<float> coef, int[]? patients, double[] rowLoss, long[] counts,
        float posScale, float negScale) where T : struct, IPairPenalty
    {
        coef.Slice(0, i + 1).Clear();
        double ps = 0, ns = 0; long pc = 0, pa = 0, nc = 0, na = 0;
        for (int j = i + 1; j < n; j++)
        {
            if (patients is not null && patients[i] == patients[j]) { coef[j] = 0f; continue; }
            double l = penalty.Evaluate(i, j, false, float.NaN, dist[j], out double g);
            if (penalty.IsPositive(i, j, false, float.NaN))
            {
                coef[j] = (float)g * posScale;
                ps += l; pc++; if (l != 0) pa++;
            }
            else
            {
                coef[j] = (float)g * negScale;
                ns += l; nc++; if (l != 0) na++;
            }
        }
        rowLoss[2 * i] = ps; rowLoss[2 * i + 1] = ns;
        counts[4 * i] = pc; counts[4 * i + 1] = pa; counts[4 * i + 2] = nc; counts[4 * i + 3] = na;
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
}

/// <summary>The reduced loss of a pair objective, kept as its positive and negative parts.</summary>
/// <param name="Stats">The sums and counts.</param>
/// <param name="PositiveScale">The factor on the positive pairs' sum.</param>
/// <param name="NegativeScale">The factor on the negative pairs' sum.</param>
internal readonly record struct PairLossResult(PairStats Stats, double PositiveScale, double NegativeScale)
{
    /// <summary>The positive part of the loss.</summary>
    public double PositivePart => Stats.PositiveSum * PositiveScale;

    /// <summary>The negative part of the loss.</summary>
    public double NegativePart => Stats.NegativeSum * NegativeScale;

    /// <summary>The loss.</summary>
    public double Loss => PositivePart + NegativePart;

    /// <summary>The loss and the number of non-zero pair terms.</summary>
    public static implicit operator (double Loss, int Active)(PairLossResult r) => (r.Loss, (int)Math.Min(r.Stats.Active, int.MaxValue));
}
