using Learner.Objectives.Distances;
using Learner.Objectives.Kernels;
using Learner.Objectives.Miners;
using Learner.Objectives.Options;
using Learner.Objectives.Reducers;

namespace Learner.Objectives;

/// <summary>
/// Triplet margin loss: ℓ = φ(d(a,p) − d(a,n) + m) with φ the hinge max(0, ·) or soft-plus, over batch-all,
/// batch-hard or semi-hard triplets mined inside the batch by coarse label (or the sampler's triplets), reduced by
/// mean by default.
/// References: Schroff et al. 2015, FaceNet (arXiv 1503.03832); Hermans, Beyer &amp; Leibe 2017, "In Defense of the
/// Triplet Loss" (arXiv 1703.07737).
/// </summary>
public sealed class TripletLoss : ObjectiveBase<TripletOptions>
{
    private readonly PairDistance _distance;
    private readonly Workspace<float> _dist = new(), _coef = new(), _negDist = new();
    private readonly Workspace<int> _labels = new(), _pos = new(), _negIdx = new(), _hard = new();
    private readonly Workspace<double> _rowLoss = new(), _scratch = new();
    private readonly Workspace<long> _rowCounts = new();
    private readonly Workspace<IndexTriplet> _hardTriplets = new();
    private readonly Workspace<double> _terms = new(), _weights = new();
    private readonly Workspace<TermKind> _kinds = new();

    /// <summary>Creates the objective with the distance its options name.</summary>
    /// <param name="options">Options (validated); null for the defaults.</param>
    public TripletLoss(TripletOptions? options = null) : this(options, null) { }

    /// <summary>Creates the objective with a distance of your own (e.g. a <see cref="CustomDistance"/>), which replaces
    /// <see cref="TripletOptions.Distance"/>, and optionally a reducer over the triplet terms, which replaces
    /// <see cref="TripletOptions.Reduction"/>; null for the options' choice.</summary>
    /// <param name="options">Options (validated); null for the defaults.</param>
    /// <param name="distance">The distance (owned by this objective from now on), or null.</param>
    /// <param name="reducer">The reducer, or null. The fused <see cref="TripletSelection.BatchAll"/> and
    /// <see cref="TripletSelection.SemiHard"/> selections never list their triplets, so they take only a
    /// <see cref="CountReducer"/>; any reducer works with <see cref="TripletSelection.BatchHard"/> and
    /// <see cref="TripletSelection.Provided"/> (e.g. behind a <see cref="MinedObjective"/> with a batch-all miner).</param>
    /// <exception cref="ArgumentException">A reducer that is not a count reducer with a fused batch-all or semi-hard selection, or a
    /// reducer passed while <see cref="TripletOptions.Reduction"/> names another, non-default reduction.</exception>
    public TripletLoss(TripletOptions? options, PairDistance? distance, ReducerBase? reducer = null) : base("triplet", options)
    {
        _distance = distance ?? PairDistance.Create(Options.Distance);
        Reducer = ReducerBase.Resolve(reducer, Options.Reduction, "TripletOptions.Reduction");
        if (!Reducer.CountsOnly && Options.Selection is TripletSelection.BatchAll or TripletSelection.SemiHard)
            throw new ArgumentException($"Triplet loss: reducer {Reducer.GetType().Name} weighs each term, but the fused {Options.Selection} selection never lists its triplets; "
                + "use a CountReducer, or Selection = Provided behind a MinedObjective with a triplet miner.", nameof(reducer));
    }

    /// <summary>The reducer over the triplet terms (the options' reduction unless one was passed).</summary>
    public ReducerBase Reducer { get; }

    /// <inheritdoc />
    public override BatchFields Requires => Options.Selection == TripletSelection.Provided ? BatchFields.Triplets : BatchFields.Labels;

    /// <inheritdoc />
    protected override (double Loss, int Active) ComputeCore(in EmbeddingBatch batch, Span<float> gradEmbeddings, Span<float> gradSecondView)
    {
        int n = batch.Count;
        bool wantGrad = !gradEmbeddings.IsEmpty;
        gradSecondView.Clear();
        _distance.Prepare(batch.Embeddings, n, batch.Dimension);
        if (wantGrad) _distance.BeginGradient();
        double sum = 0; long count = 0, active = 0;
        float margin = Options.Margin;
        var penalty = Options.Penalty;
        if (Options.Selection == TripletSelection.Provided)
            return Listed(BatchContract.ProvidedTriplets(batch.Triplets, n), gradEmbeddings);
        else
        {
            var labelSpan = BatchContract.Labels(batch, "Triplet loss");
            labelSpan.CopyTo(_labels.Get(n));
            var labels = _labels.Array;
            int tileRows = Tiling.Rows(n, n);
            var dist = _dist.Get(tileRows * n);
            int workers = Tiling.Workers;
            var distArr = _dist.Array;
            if (Options.Selection == TripletSelection.BatchHard)
            {
                var hard = _hard.Get(2 * n);
                var hardArr = _hard.Array;
                for (int i0 = 0; i0 < n; i0 += tileRows)
                {
                    int rows = Math.Min(tileRows, n - i0), start = i0;
                    _distance.RankBlock(i0, rows, dist);
                    RowParallel.Run(new HardJob(start, n, distArr, labels, hardArr), rows, n);
                }
                var listed = _hardTriplets.Get(n);
                int found = 0;
                for (int a = 0; a < n; a++)
                    if (hard[2 * a] >= 0) listed[found++] = new IndexTriplet(a, hard[2 * a], hard[2 * a + 1]);
                return Listed(listed.Slice(0, found), gradEmbeddings);
            }
            else
            {
                var coef = _coef.Get(tileRows * n);
                _pos.Get(workers * n); _negIdx.Get(workers * n); _negDist.Get(workers * n); _scratch.Get(workers * 2 * (n + 1));
                _rowLoss.Get(n); _rowCounts.Get(2 * n);
                var coefArr = _coef.Array; var posArr = _pos.Array; var negIdxArr = _negIdx.Array; var negDistArr = _negDist.Array;
                var scratchArr = _scratch.Array; var rowLoss = _rowLoss.Array; var rowCounts = _rowCounts.Array;
                bool semi = Options.Selection == TripletSelection.SemiHard;
                for (int i0 = 0; i0 < n; i0 += tileRows)
                {
                    int rows = Math.Min(tileRows, n - i0), start = i0;
                    _distance.Block(i0, rows, dist);
                    RowParallel.Run(new DenseJob(start, n, distArr, coefArr, labels, posArr, negDistArr, negIdxArr, scratchArr, rowLoss, rowCounts, margin, penalty, semi), rows, n);
                    // The anchor's own row holds ∂ℓ/∂d(a, ·) for d(a,p) and d(a,n).
                    if (wantGrad) _distance.AccumulateBlock(i0, rows, coef, dist);
                }
                for (int a = 0; a < n; a++) { sum += rowLoss[a]; count += rowCounts[2 * a]; active += rowCounts[2 * a + 1]; }
            }
        }
        ReportMining(new MiningStatistics { Triplets = count });
        double scale = ((CountReducer)Reducer).Scales(new TermCounts(count, active, 0, 0)).Other;
        if (wantGrad) _distance.FinishGradient(gradEmbeddings, (float)scale);
        return (sum * scale, (int)Math.Min(active, int.MaxValue));
    }

    /// <summary>Listed triplets (the sampler's, a miner's or batch-hard's), each with exact distances: the terms are
    /// reduced by the reducer's weights (from the counts, or from the stored term vector), then pushed back.</summary>
    private (double Loss, int Active) Listed(ReadOnlySpan<IndexTriplet> triplets, Span<float> grad)
    {
        int count = triplets.Length;
        bool wantGrad = !grad.IsEmpty;
        var terms = _terms.Get(count); var kinds = _kinds.Get(count); var weights = _weights.Get(count);
        long active = 0;
        for (int k = 0; k < count; k++)
        {
            var t = triplets[k];
            terms[k] = TripletPenalties.Evaluate(Options.Penalty, _distance.Pair(t.Anchor, t.Positive) - _distance.Pair(t.Anchor, t.Negative) + Options.Margin, out _);
            kinds[k] = TermKind.Triplet;
            if (terms[k] != 0) active++;
        }
        ReportMining(new MiningStatistics { Triplets = count });
        double loss = Reducer.Reduce(terms, kinds, weights);
        if (wantGrad)
        {
            for (int k = 0; k < count; k++)
            {
                var t = triplets[k];
                double dap = _distance.Pair(t.Anchor, t.Positive), dan = _distance.Pair(t.Anchor, t.Negative);
                TripletPenalties.Evaluate(Options.Penalty, dap - dan + Options.Margin, out double g);
                double c = g * weights[k];
                if (c == 0) continue;
                _distance.AccumulatePair(t.Anchor, t.Positive, c, dap);
                _distance.AccumulatePair(t.Anchor, t.Negative, -c, dan);
            }
            _distance.FinishGradient(grad, 1f);
        }
        return (loss, (int)Math.Min(active, int.MaxValue));
    }

    private readonly struct HardJob : IRowJob
    {
        private readonly int _start, _n;
        private readonly float[] _dist;
        private readonly int[] _labels, _hard;

        public HardJob(int start, int n, float[] dist, int[] labels, int[] hard) { _start = start; _n = n; _dist = dist; _labels = labels; _hard = hard; }

        public void Run(int r0, int r1, int worker)
        {
            for (int r = r0; r < r1; r++)
            {
                var (p, q) = BatchHardMiner.Mine(_start + r, _dist.AsSpan(r * _n, _n), _labels.AsSpan(0, _n));
                _hard[2 * (_start + r)] = p; _hard[2 * (_start + r) + 1] = q;
            }
        }
    }

    private readonly struct DenseJob : IRowJob
    {
        private readonly int _start, _n;
        private readonly float[] _dist, _coef, _negDist;
        private readonly int[] _labels, _pos, _negIdx;
        private readonly double[] _scratch, _rowLoss;
        private readonly long[] _rowCounts;
        private readonly float _margin;
        private readonly TripletPenalty _penalty;
        private readonly bool _semi;

        public DenseJob(int start, int n, float[] dist, float[] coef, int[] labels, int[] pos, float[] negDist, int[] negIdx,
            double[] scratch, double[] rowLoss, long[] rowCounts, float margin, TripletPenalty penalty, bool semi)
        {
            _start = start; _n = n; _dist = dist; _coef = coef; _labels = labels; _pos = pos; _negDist = negDist; _negIdx = negIdx;
            _scratch = scratch; _rowLoss = rowLoss; _rowCounts = rowCounts; _margin = margin; _penalty = penalty; _semi = semi;
        }

        public void Run(int r0, int r1, int w)
        {
            int n = _n;
            for (int r = r0; r < r1; r++)
            {
                int a = _start + r;
                var row = _dist.AsSpan(r * n, n);
                var anchor = AnchorRow.Gather(a, row, _labels.AsSpan(0, n), _pos.AsSpan(w * n, n), _negDist.AsSpan(w * n, n), _negIdx.AsSpan(w * n, n));
                var (l, c, act) = _semi
                    ? SemiHardMiner.Row(a, row, anchor, _margin, _penalty, _coef.AsSpan(r * n, n))
                    : BatchAllMiner.Row(a, row, anchor, _margin, _penalty, _coef.AsSpan(r * n, n), _scratch.AsSpan(w * 2 * (n + 1), 2 * (n + 1)));
                _rowLoss[a] = l; _rowCounts[2 * a] = c; _rowCounts[2 * a + 1] = act;
            }
        }
    }
}
