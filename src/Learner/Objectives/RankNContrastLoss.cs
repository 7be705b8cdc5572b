using Learner.Objectives.Distances;
using Learner.Objectives.Kernels;
using Learner.Objectives.Options;
using Learner.Objectives.Reducers;

namespace Learner.Objectives;

/// <summary>
/// Rank-N-Contrast: for every anchor i and candidate k ≠ i, k is contrasted against the samples at least as far from i
/// in score, L = −1/(N(N−1)) Σ_i Σ_{k≠i} log[ exp(s_ik/τ) / Σ_{j∈S_ik} exp(s_ij/τ) ],
/// S_ik = {j ≠ i : |y_i − y_j| ≥ |y_i − y_k|}, s = −d (negative L2 distance by default).
/// Computed per anchor in O(N) after one global sort by score (the candidates in decreasing score distance are a
/// merge from both ends of the sorted order), with suffix sums for the exact gradient.
/// Reference: Zha et al. 2023, "Rank-N-Contrast: Learning Continuous Representations for Regression" (NeurIPS,
/// arXiv 2210.01189).
/// </summary>
public sealed class RankNContrastLoss : ObjectiveBase<RankNContrastOptions>
{
    private readonly PairDistance _distance;
    private readonly Workspace<float> _dist = new(), _coef = new(), _scores = new(), _sortedScores = new();
    private readonly Workspace<int> _order = new(), _seq = new();
    private readonly Workspace<double> _e = new(), _q = new(), _rowLoss = new(), _anchorScale = new();
    private readonly Workspace<float> _weights = new();
    private readonly AnchorReduction _reduction = new();

    /// <summary>Creates the objective.</summary>
    /// <param name="options">Options (validated); null for the defaults.</param>
    public RankNContrastLoss(RankNContrastOptions? options = null) : this(options, null) { }

    /// <summary>Creates the objective with a reducer over its per-anchor terms ℓ_i = −1/(N−1) Σ_{k≠i} log[…] (each of
    /// kind <see cref="TermKind.Anchor"/>, in row order), which replaces the mean over anchors; null for the mean.</summary>
    /// <param name="options">Options (validated); null for the defaults.</param>
    /// <param name="reducer">The reducer, or null. The mean and the sum run in the fused pass; any other reducer costs one
    /// forward pass more.</param>
    public RankNContrastLoss(RankNContrastOptions? options, ReducerBase? reducer) : base("rnc", options)
    {
        _distance = PairDistance.Create(Options.Distance);
        Reducer = reducer ?? MeanReducer.Instance;
    }

    /// <summary>The reducer over the per-anchor terms (the mean unless one was passed).</summary>
    public ReducerBase Reducer { get; }

    /// <inheritdoc />
    public override BatchFields Requires => BatchFields.Scores;

    /// <inheritdoc />
    protected override (double Loss, int Active) ComputeCore(in EmbeddingBatch batch, Span<float> gradEmbeddings, Span<float> gradSecondView)
    {
        int n = batch.Count;
        var scoreSpan = BatchContract.Scores(batch, "Rank-N-Contrast");
        gradSecondView.Clear();
        bool wantGrad = !gradEmbeddings.IsEmpty;
        if (n < 2) { gradEmbeddings.Clear(); return (0, 0); }
        _distance.Prepare(batch.Embeddings, n, batch.Dimension);
        if (wantGrad) _distance.BeginGradient();
        var scores = _scores.Get(n);
        scoreSpan.CopyTo(scores);
        var order = _order.Get(n);
        var sorted = _sortedScores.Get(n);
        for (int i = 0; i < n; i++) order[i] = i;
        scores.CopyTo(sorted);
        sorted.Sort(order);
        int tileRows = Tiling.Rows(n, n);
        var dist = _dist.Get(tileRows * n);
        var coef = _coef.Get(tileRows * n);
        int workers = Tiling.Workers;
        _seq.Get(workers * n); _e.Get(workers * n); _q.Get(workers * n); _rowLoss.Get(n);
        var distArr = _dist.Array; var coefArr = _coef.Array; var seqArr = _seq.Array; var eArr = _e.Array; var qArr = _q.Array;
        var rowLoss = _rowLoss.Array; var scoreArr = _scores.Array; var orderArr = _order.Array; var sortedArr = _sortedScores.Array;
        double invTau = 1.0 / Options.Temperature;
        bool fused = AnchorReduction.Fused(Reducer);
        // Anchor i's term is its row loss / (N − 1); the fused reducers give every term 1/N (mean) or 1 (sum).
        double scale = Reducer is SumReducer ? 1.0 / (n - 1) : 1.0 / ((double)n * (n - 1));
        double[]? anchorScale = null;
        double reduced = 0;
        if (!fused)
        {
            // The terms (one forward pass), the reducer's weights, then the pass below with each anchor's weight.
            for (int i0 = 0; i0 < n; i0 += tileRows)
            {
                int rows = Math.Min(tileRows, n - i0);
                _distance.Block(i0, rows, dist);
                RowParallel.Run(new RowsJob(i0, n, distArr, coefArr, scoreArr, orderArr, sortedArr, seqArr, eArr, qArr, rowLoss, invTau, scale, null), rows, n);
            }
            var weights = _weights.Get(n);
            weights.Fill(1f);
            for (int i = 0; i < n; i++) rowLoss[i] /= n - 1;
            reduced = _reduction.Weigh(Reducer, rowLoss.AsSpan(0, n), weights, TermKind.Anchor);
            var a = _anchorScale.Get(n);
            for (int i = 0; i < n; i++) a[i] = weights[i] / (double)(n - 1);
            anchorScale = _anchorScale.Array;
            if (!wantGrad) { ReportRnc(n); return (reduced, n * (n - 1)); }
        }
        for (int i0 = 0; i0 < n; i0 += tileRows)
        {
            int rows = Math.Min(tileRows, n - i0), start = i0;
            _distance.Block(i0, rows, dist);
            RowParallel.Run(new RowsJob(start, n, distArr, coefArr, scoreArr, orderArr, sortedArr, seqArr, eArr, qArr, rowLoss, invTau, scale, anchorScale), rows, n);
            if (wantGrad) _distance.AccumulateBlock(i0, rows, coef, dist);
        }
        if (wantGrad) _distance.FinishGradient(gradEmbeddings, 1f);
        ReportRnc(n);
        if (!fused) return (reduced, n * (n - 1));
        double loss = 0;
        for (int i = 0; i < n; i++) loss += rowLoss[i];
        return (loss * scale, n * (n - 1));
    }

    /// <summary>Every anchor has N − 1 log terms, one per ordered (anchor, candidate) pair.</summary>
    private void ReportRnc(int n) => ReportMining(new MiningStatistics { Anchors = n, Pairs = (long)n * (n - 1) });

    private readonly struct RowsJob : IRowJob
    {
        private readonly int _start, _n;
        private readonly float[] _dist, _coef, _scores, _sorted;
        private readonly int[] _order, _seq;
        private readonly double[] _e, _q, _rowLoss;
        private readonly double _invTau, _scale;
        private readonly double[]? _anchorScale;

        // scale: the coefficients' factor on every row, unless anchorScale gives one per row.
        public RowsJob(int start, int n, float[] dist, float[] coef, float[] scores, int[] order, float[] sorted, int[] seq,
            double[] e, double[] q, double[] rowLoss, double invTau, double scale, double[]? anchorScale)
        {
            _start = start; _n = n; _dist = dist; _coef = coef; _scores = scores; _order = order; _sorted = sorted; _seq = seq;
            _e = e; _q = q; _rowLoss = rowLoss; _invTau = invTau; _scale = scale; _anchorScale = anchorScale;
        }

        public void Run(int r0, int r1, int w)
        {
            int n = _n;
            for (int r = r0; r < r1; r++)
                _rowLoss[_start + r] = Row(_start + r, n, _dist.AsSpan(r * n, n), _coef.AsSpan(r * n, n), _scores, _order, _sorted,
                    _seq.AsSpan(w * n, n), _e.AsSpan(w * n, n), _q.AsSpan(w * n, n), _invTau, _anchorScale is null ? _scale : _anchorScale[_start + r]);
        }
    }

    /// <summary>Anchor i's loss (unscaled) and its scaled coefficients ∂L/∂d(i, ·) into <paramref name="coef"/>.</summary>
    private static double Row(int i, int n, ReadOnlySpan<float> dist, Span<float> coef, float[] scores, int[] order, float[] sorted,
        Span<int> seq, Span<double> e, Span<double> qs, double invTau, double scale)
    {
        double yi = scores[i];
        // Candidates in decreasing |y_i − y_j|: merge inward from both ends of the score order.
        int lo = 0, hi = n - 1, m = 0;
        while (lo <= hi)
        {
            if (order[lo] == i) { lo++; continue; }
            if (order[hi] == i) { hi--; continue; }
            if (yi - sorted[lo] >= sorted[hi] - yi) seq[m++] = order[lo++];
            else seq[m++] = order[hi--];
        }
        // x_ij = −d_ij/τ, shifted by the row maximum.
        double xmax = double.NegativeInfinity;
        for (int p = 0; p < m; p++) xmax = Math.Max(xmax, -dist[seq[p]] * invTau);
        double loss = 0, q = 0;
        for (int p = 0; p < m; p++) { double x = -dist[seq[p]] * invTau - xmax; e[p] = Math.Exp(x); loss -= x; }
        // Forward over tie groups: Q_g = Σ e through the end of the group; each member contributes log Q_g.
        int g0 = 0;
        while (g0 < m)
        {
            double dg = Math.Abs(yi - scores[seq[g0]]);
            int g1 = g0 + 1;
            while (g1 < m && Math.Abs(yi - scores[seq[g1]]) == dg) g1++;
            for (int p = g0; p < g1; p++) q += e[p];
            loss += (g1 - g0) * Math.Log(q);
            for (int p = g0; p < g1; p++) qs[p] = q;
            g0 = g1;
        }
        // Backward from the nearest group: R = Σ_{groups at or after j's} |g| / Q_g, ∂L_i/∂x_ij = −1 + e_j·R.
        double rsum = 0;
        int end = m;
        while (end > 0)
        {
            int start = end - 1;
            while (start > 0 && qs[start - 1] == qs[end - 1] && Math.Abs(yi - scores[seq[start - 1]]) == Math.Abs(yi - scores[seq[end - 1]])) start--;
            rsum += (end - start) / qs[end - 1];
            for (int p = start; p < end; p++)
            {
                double gx = -1 + e[p] * rsum;                  // ∂L_i/∂x_ij
                coef[seq[p]] = (float)(-gx * invTau * scale);  // x = −d/τ
            }
            end = start;
        }
        coef[i] = 0f;
        return loss;
    }
}
