using Learner.Objectives.Distances;
using Learner.Objectives.Options;
using Learner.TorchSharp.Encoders;
using static TorchSharp.torch;
using TTensor = TorchSharp.torch.Tensor;

namespace Learner.TorchSharp.Objectives;

/// <summary>The device formulations the objectives share: distances (matrix and pairs), similarity inputs, penalties.</summary>
internal static class DeviceOps
{
    /// <summary>ε inside the Euclidean square root, as the managed objectives.</summary>
    public const double EuclideanEpsilon = 1e-12;

    /// <summary>The rows a softmax objective compares: normalised for cosine, as they are for the dot product.</summary>
    public static TTensor Similarity(TTensor x, SimilarityKind kind) => kind == SimilarityKind.Cosine ? TorchOps.L2Normalize(x) : x;

    /// <summary>The rows a distance reads: normalised for the cosine and the normalised Euclidean distance, as they are
    /// for the other Euclidean ones.</summary>
    public static TTensor DistanceRows(TTensor x, DistanceKind kind) =>
        kind is DistanceKind.Cosine or DistanceKind.NormalizedEuclidean ? TorchOps.L2Normalize(x) : x;

    /// <summary>The N×N distance matrix. Squared Euclidean distances come from one GEMM, ‖a‖² + ‖b‖² − 2a·b, and the
    /// entries where that expansion cancels (‖a − b‖² below 1/16 of ‖a‖² + ‖b‖²: near-coincident points, the diagonal)
    /// are recomputed exactly from the row differences — the managed objectives' rule, in values and in gradients.</summary>
    public static TTensor Matrix(TTensor x, DistanceKind kind)
    {
        if (kind == DistanceKind.Cosine)
        {
            var n = TorchOps.L2Normalize(x);
            return n.mm(n.t()).SubtractedFrom(1f);
        }
        if (kind == DistanceKind.NormalizedEuclidean) return Matrix(TorchOps.L2Normalize(x), DistanceKind.Euclidean);
        var norms = x.Square().sum(1);
        var total = norms.unsqueeze(1).Plus(norms.unsqueeze(0));
        var sq = total - x.mm(x.t()).mul(DeviceScalars.TwoF);
        TTensor near;
        using (no_grad()) near = sq.detach().mul(DeviceScalars.SixteenF).lt(total.detach());
        var pairs = near.nonzero();                                   // row-major, as masked_scatter fills
        if (pairs.shape[0] > 0)
        {
            var exact = (x.index_select(0, pairs.select(1, 0)) - x.index_select(0, pairs.select(1, 1))).Square().sum(1);
            sq = sq.masked_scatter(near, exact);
        }
        sq = sq.clamp_min(DeviceScalars.ZeroF);
        return kind == DistanceKind.SquaredEuclidean ? sq : sq.Plus(EuclideanEpsilon).sqrt();
    }

    /// <summary>d(rows[i_k], rows[j_k]) for index vectors <paramref name="i"/>, <paramref name="j"/> (exact per pair), on
    /// rows from <see cref="DistanceRows"/>.</summary>
    public static TTensor Pairs(TTensor rows, TTensor i, TTensor j, DistanceKind kind) => RowPairs(rows.index_select(0, i), rows.index_select(0, j), kind);

    /// <summary>d(a_k, b_k) for row-aligned K×D matrices already prepared by <see cref="DistanceRows"/> (exact per row).</summary>
    public static TTensor RowPairs(TTensor a, TTensor b, DistanceKind kind)
    {
        if (kind == DistanceKind.Cosine) return (a * b).sum(1).SubtractedFrom(1f);
        var sq = (a - b).Square().sum(1);
        return kind == DistanceKind.SquaredEuclidean ? sq : sq.Plus(EuclideanEpsilon).sqrt();
    }

    /// <summary>For each row, the size of its label group (itself included), counted on the host.</summary>
    public static int[] GroupSizes(ReadOnlySpan<int> labels)
    {
        var counts = new Dictionary<int, int>();
        foreach (int l in labels) counts[l] = counts.GetValueOrDefault(l) + 1;
        var sizes = new int[labels.Length];
        for (int i = 0; i < sizes.Length; i++) sizes[i] = counts[labels[i]];
        return sizes;
    }

    /// <summary>The triplet penalty φ(v): max(0, v), or the stable soft-plus max(v, 0) + log(1 + e^{−|v|}).</summary>
    public static TTensor Penalty(TTensor v, TripletPenalty penalty) =>
        penalty == TripletPenalty.Hinge ? v.relu() : v.relu().Plus(v.abs().neg().exp().log1p());

    /// <summary>A float32 scalar zero connected to the inputs, so that backward gives them zero gradients.</summary>
    public static TTensor ZeroLoss(TTensor z, TTensor? second) => second is null ? z.sum().mul(DeviceScalars.ZeroF) : z.sum().Plus(second.sum()).mul(DeviceScalars.ZeroF);

    /// <summary>Σ over the true entries of a boolean tensor, on the host.</summary>
    public static int Count(TTensor mask)
    {
        using var s = mask.sum();
        return checked((int)s.item<long>());
    }

    /// <summary>How many entries of <paramref name="loss"/> are non-zero where <paramref name="mask"/> holds (all when null).</summary>
    public static int ActiveCount(TTensor loss, TTensor? mask)
    {
        using var _ = no_grad();
        using var nz = loss.detach().ne(DeviceScalars.Zero);
        if (mask is null) return Count(nz);
        using var both = nz.logical_and(mask);
        return Count(both);
    }

    /// <summary>The rows of <paramref name="n"/> in chunks of at most <paramref name="perRow"/>-sized slabs within the
    /// chunk budget: yields (start, count).</summary>
    public static IEnumerable<(long Start, long Count)> Chunks(long n, long perRow)
    {
        long chunk = Math.Max(1, TorchSharpObjective.ChunkElements / Math.Max(1, perRow));
        for (long r = 0; r < n; r += chunk) yield return (r, Math.Min(chunk, n - r));
    }
}
