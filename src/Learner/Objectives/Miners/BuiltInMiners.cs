using Learner.Objectives.Distances;
using Learner.Objectives.Kernels;

namespace Learner.Objectives.Miners;

/// <summary>Batch-hard mining (Hermans et al. 2017) as triplets: per anchor with a positive and a negative, its farthest
/// positive and nearest negative — pytorch-metric-learning's <c>BatchHardMiner</c>. The same kernel as
/// <see cref="Options.TripletSelection.BatchHard"/>.</summary>
public sealed class BatchHardTripletMiner : TripletMiner
{
    private readonly PairDistance _distance;
    private readonly Workspace<float> _rows = new();

    /// <summary>Creates the miner.</summary>
    /// <param name="distance">The distance the candidates are ranked by (default Euclidean).</param>
    public BatchHardTripletMiner(DistanceKind distance = DistanceKind.Euclidean) : this(PairDistance.Create(distance)) { }

    /// <summary>Creates the miner on a distance of your own.</summary>
    /// <param name="distance">The distance (owned by the miner).</param>
    public BatchHardTripletMiner(PairDistance distance) => _distance = distance ?? throw new ArgumentNullException(nameof(distance));

    /// <inheritdoc />
    public override void Mine(in EmbeddingBatch batch, List<IndexTriplet> triplets)
    {
        ArgumentNullException.ThrowIfNull(triplets);
        int n = batch.Count;
        var labels = BatchContract.Labels(batch, "Batch-hard miner");
        _distance.Prepare(batch.Embeddings, n, batch.Dimension);
        int tileRows = Tiling.Rows(n, n);
        var dist = _rows.Get(tileRows * n);
        for (int i0 = 0; i0 < n; i0 += tileRows)
        {
            int rows = Math.Min(tileRows, n - i0);
            _distance.RankBlock(i0, rows, dist);
            for (int r = 0; r < rows; r++)
            {
                var (p, q) = BatchHardMiner.Mine(i0 + r, dist.Slice(r * n, n), labels);
                if (p >= 0) triplets.Add(new IndexTriplet(i0 + r, p, q));
            }
        }
    }
}

/// <summary>Semi-hard mining (Schroff et al. 2015, as TensorFlow Addons implements it) as triplets: for each (anchor,
/// positive), the nearest negative farther than the positive, else the farthest negative. The same rule as
/// <see cref="Options.TripletSelection.SemiHard"/>.</summary>
public sealed class SemiHardTripletMiner : TripletMiner
{
    private readonly PairDistance _distance;
    private readonly Workspace<float> _row = new(), _negDist = new();
    private readonly Workspace<int> _pos = new(), _negIdx = new();

    /// <summary>Creates the miner.</summary>
    /// <param name="distance">The distance (default Euclidean).</param>
    public SemiHardTripletMiner(DistanceKind distance = DistanceKind.Euclidean) : this(PairDistance.Create(distance)) { }

    /// <summary>Creates the miner on a distance of your own.</summary>
    /// <param name="distance">The distance (owned by the miner).</param>
    public SemiHardTripletMiner(PairDistance distance) => _distance = distance ?? throw new ArgumentNullException(nameof(distance));

    /// <inheritdoc />
    public override void Mine(in EmbeddingBatch batch, List<IndexTriplet> triplets)
    {
        ArgumentNullException.ThrowIfNull(triplets);
        int n = batch.Count;
        var labels = BatchContract.Labels(batch, "Semi-hard miner");
        _distance.Prepare(batch.Embeddings, n, batch.Dimension);
        // Row tiles of the distance matrix from the blocked kernel (one GEMM per tile), as the fused selection reads them.
        int tileRows = Tiling.Rows(n, n);
        var block = _row.Get(tileRows * n);
        for (int i0 = 0; i0 < n; i0 += tileRows)
        {
            int rows = Math.Min(tileRows, n - i0);
            _distance.Block(i0, rows, block);
            for (int r = 0; r < rows; r++)
            {
                int a = i0 + r;
                var row = block.Slice(r * n, n);
                var anchor = AnchorRow.Gather(a, row, labels, _pos.Get(n), _negDist.Get(n), _negIdx.Get(n));
                if (anchor.NegativeDistances.IsEmpty) continue;
                foreach (int p in anchor.Positives)
                    triplets.Add(new IndexTriplet(a, p, anchor.Negatives[SemiHardMiner.Pick(anchor, row[p])]));
            }
        }
    }
}

/// <summary>pytorch-metric-learning's <c>PairMarginMiner</c>: of every pair i &lt; j (positive when the labels agree),
/// the positives farther than <see cref="PositiveMargin"/> and the negatives closer than <see cref="NegativeMargin"/> —
/// the pairs a margin loss would still penalise.</summary>
public sealed class PairMarginMiner : PairMiner
{
    private readonly PairDistance _distance;
    private readonly Workspace<float> _row = new();

    /// <summary>Creates the miner.</summary>
    /// <param name="positiveMargin">Positives with d &gt; this are kept (PML's pos_margin, default 0.2).</param>
    /// <param name="negativeMargin">Negatives with d &lt; this are kept (PML's neg_margin, default 0.8).</param>
    /// <param name="distance">The distance (default: PML's, the Euclidean distance on normalised embeddings).</param>
    public PairMarginMiner(float positiveMargin = 0.2f, float negativeMargin = 0.8f, DistanceKind distance = DistanceKind.NormalizedEuclidean)
    {
        if (!float.IsFinite(positiveMargin)) throw new ArgumentOutOfRangeException(nameof(positiveMargin), positiveMargin, "PairMarginMiner: the positive margin must be finite.");
        if (!float.IsFinite(negativeMargin)) throw new ArgumentOutOfRangeException(nameof(negativeMargin), negativeMargin, "PairMarginMiner: the negative margin must be finite.");
        PositiveMargin = positiveMargin; NegativeMargin = negativeMargin;
        _distance = PairDistance.Create(distance);
    }

    /// <summary>Positives farther than this are kept.</summary>
    public float PositiveMargin { get; }

    /// <summary>Negatives closer than this are kept.</summary>
    public float NegativeMargin { get; }

    /// <inheritdoc />
    public override void Mine(in EmbeddingBatch batch, List<IndexPair> pairs)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        int n = batch.Count;
        var labels = BatchContract.Labels(batch, "Pair-margin miner");
        _distance.Prepare(batch.Embeddings, n, batch.Dimension);
        int tileRows = Tiling.Rows(n, n);
        var block = _row.Get(tileRows * n);
        for (int i0 = 0; i0 < n; i0 += tileRows)
        {
            int rows = Math.Min(tileRows, n - i0);
            _distance.Block(i0, rows, block);
            for (int r = 0; r < rows; r++)
            {
                int i = i0 + r;
                var row = block.Slice(r * n, n);
                for (int j = i + 1; j < n; j++)
                {
                    bool positive = labels[i] == labels[j];
                    if (positive ? row[j] > PositiveMargin : row[j] < NegativeMargin) pairs.Add(new IndexPair(i, j, positive));
                }
            }
        }
    }
}
