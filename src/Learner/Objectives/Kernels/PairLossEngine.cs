using Learner.Objectives.Distances;
using Learner.Objectives.Miners;
using Learner.Objectives.Reducers;

namespace Learner.Objectives.Kernels;

/// <summary>
/// Evaluates a pairwise penalty over a <see cref="PairSelection"/> with its exact gradient: explicit pairs one by one
/// (exact distances), all pairs through row tiles of the GEMM distance matrix with the gradient pushed back by two
/// GEMMs per tile. Memory is O(tile·B), reused.
/// </summary>
internal sealed class PairLossEngine
{
    private readonly Workspace<float> _dist = new(), _coef = new();
    private readonly Workspace<double> _rowLoss = new();
    private readonly Workspace<long> _rowCounts = new();
    private readonly Workspace<int> _patients = new();

    /// <summary>Runs the penalty; writes the reduced gradient into <paramref name="grad"/> when not empty.</summary>
    public (double Loss, int Active) Run<T>(T penalty, PairDistance distance, in EmbeddingBatch batch, in PairSelection selection,
        Reduction reduction, Span<float> grad) where T : struct, IPairPenalty
    {
        int n = batch.Count, d = batch.Dimension;
        bool wantGrad = !grad.IsEmpty;
        distance.Prepare(batch.Embeddings, n, d);
        if (wantGrad) distance.BeginGradient();
        double sum = 0;
        long count = 0, active = 0;
        if (!selection.AllPairs)
        {
            foreach (var p in selection.Explicit)
            {
                double dist = distance.Pair(p.First, p.Second);
                double l = penalty.Evaluate(p.First, p.Second, p.Positive, p.ScoreGap, dist, out double g);
                sum += l; count++;
                if (l != 0) active++;
                if (wantGrad && g != 0) distance.AccumulatePair(p.First, p.Second, g, dist);
            }
        }
        else
        {
            int tileRows = Tiling.Rows(n, n);
            var dist = _dist.Get(tileRows * n);
            var coef = _coef.Get(tileRows * n);
            var rowLoss = _rowLoss.Get(n);
            var rowCounts = _rowCounts.Get(2 * n);
            var distArr = _dist.Array; var coefArr = _coef.Array; var lossArr = _rowLoss.Array; var countArr = _rowCounts.Array;
            int[]? patients = null;
            if (selection.FiltersPatients) { _patients.Get(n); patients = _patients.Array; }
            if (patients is not null) for (int i = 0; i < n; i++) patients[i] = selection.Patient(i);
            for (int i0 = 0; i0 < n; i0 += tileRows)
            {
                int rows = Math.Min(tileRows, n - i0);
                distance.Block(i0, rows, dist);
                RowParallel.Run(new RowsJob<T>(penalty, i0, n, distArr, coefArr, patients, lossArr, countArr), rows, n);
                if (wantGrad) distance.AccumulateBlock(i0, rows, coef, dist);
            }
            for (int i = 0; i < n; i++) { sum += rowLoss[i]; count += rowCounts[2 * i]; active += rowCounts[2 * i + 1]; }
        }
        double scale = Reducer.Scale(reduction, count, active);
        if (wantGrad) distance.FinishGradient(grad, (float)scale);
        return (sum * scale, (int)Math.Min(active, int.MaxValue));
    }

    private readonly struct RowsJob<T> : IRowJob where T : struct, IPairPenalty
    {
        private readonly T _penalty;
        private readonly int _start, _n;
        private readonly float[] _dist, _coef;
        private readonly int[]? _patients;
        private readonly double[] _loss;
        private readonly long[] _counts;

        public RowsJob(T penalty, int start, int n, float[] dist, float[] coef, int[]? patients, double[] loss, long[] counts)
        {
            _penalty = penalty; _start = start; _n = n; _dist = dist; _coef = coef; _patients = patients; _loss = loss; _counts = counts;
        }

        public void Run(int r0, int r1, int worker)
        {
            for (int r = r0; r < r1; r++)
                Row(_penalty, _start + r, _n, _dist.AsSpan(r * _n, _n), _coef.AsSpan(r * _n, _n), _patients, _loss, _counts);
        }
    }

    private static void Row<T>(T penalty, int i, int n, Span<float> dist, Span<float> coef, int[]? patients, double[] rowLoss, long[] counts)
        where T : struct, IPairPenalty
    {
        coef.Slice(0, i + 1).Clear();
        double s = 0; long c = 0, a = 0;
        for (int j = i + 1; j < n; j++)
        {
            if (patients is not null && patients[i] == patients[j]) { coef[j] = 0f; continue; }
            double l = penalty.Evaluate(i, j, false, float.NaN, dist[j], out double g);
            coef[j] = (float)g;
            s += l; c++;
            if (l != 0) a++;
        }
        rowLoss[i] = s; counts[2 * i] = c; counts[2 * i + 1] = a;
    }
}
