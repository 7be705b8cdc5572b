using Learner.Objectives.Distances;
using TTensor = TorchSharp.torch.Tensor;

namespace Learner.TorchSharp.Objectives;

/// <summary>
/// A pairwise distance written as TorchSharp operations, for the device pair and triplet objectives
/// (<see cref="TorchSharpContrastiveLoss"/>, <see cref="TorchSharpWeightedContrastiveLoss"/>,
/// <see cref="TorchSharpTripletLoss"/>): the device twin of a <see cref="PairDistance"/>, its gradient coming from
/// libtorch's autograd. Implement <see cref="Between"/> (row k of one matrix against row k of another); the distance
/// matrix and the distances of index pairs are built from it. Override <see cref="Matrix"/> when a GEMM form exists: the
/// default broadcasts B×B×D values. <see cref="Create"/> gives the built-in distances, with the managed kernels' rules.
/// </summary>
/// <remarks>Every operation must be differentiable through autograd (no <c>detach</c>, no host round trip), and must
/// give the values of the managed distance it mirrors where one exists, so that both backends train the same loss.</remarks>
public abstract class TorchSharpDistance
{
    /// <summary>The built-in distance of <paramref name="kind"/> (cosine, Euclidean, squared Euclidean, normalised
    /// Euclidean), as <see cref="PairDistance.Create"/> computes it on the host.</summary>
    /// <param name="kind">The kind.</param>
    /// <returns>The distance (stateless).</returns>
    /// <exception cref="ArgumentOutOfRangeException">The kind is undefined.</exception>
    public static TorchSharpDistance Create(DistanceKind kind) =>
        Enum.IsDefined(kind) ? new BuiltIn(kind) : throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown distance kind.");

    /// <summary>d(a_k, b_k) for every row k.</summary>
    /// <param name="a">K×D rows.</param>
    /// <param name="b">K×D rows.</param>
    /// <returns>K distances (float32).</returns>
    public abstract TTensor Between(TTensor a, TTensor b);

    /// <summary>The B×B distance matrix of <paramref name="embeddings"/>. The default evaluates <see cref="Between"/> on
    /// B² row pairs (B×B×D values).</summary>
    /// <param name="embeddings">B×D embeddings.</param>
    /// <returns>B×B distances.</returns>
    public virtual TTensor Matrix(TTensor embeddings)
    {
        ArgumentNullException.ThrowIfNull(embeddings);
        long b = embeddings.shape[0], d = embeddings.shape[1];
        var left = embeddings.unsqueeze(1).expand(b, b, d).reshape(b * b, d);
        var right = embeddings.unsqueeze(0).expand(b, b, d).reshape(b * b, d);
        return Between(left, right).reshape(b, b);
    }

    /// <summary>d(e[i_k], e[j_k]) for index vectors <paramref name="i"/>, <paramref name="j"/> (int64).</summary>
    /// <param name="embeddings">B×D embeddings.</param>
    /// <param name="i">K first rows.</param>
    /// <param name="j">K second rows.</param>
    /// <returns>K distances.</returns>
    public virtual TTensor Pairs(TTensor embeddings, TTensor i, TTensor j)
    {
        ArgumentNullException.ThrowIfNull(embeddings);
        return Between(embeddings.index_select(0, i), embeddings.index_select(0, j));
    }

    /// <summary>The built-ins on <see cref="DeviceOps"/>: a GEMM matrix with the managed cancellation rule, exact pairs.</summary>
    private sealed class BuiltIn(DistanceKind kind) : TorchSharpDistance
    {
        public override TTensor Between(TTensor a, TTensor b) => DeviceOps.RowPairs(DeviceOps.DistanceRows(a, kind), DeviceOps.DistanceRows(b, kind), kind);

        public override TTensor Matrix(TTensor embeddings) => DeviceOps.Matrix(embeddings, kind);

        public override TTensor Pairs(TTensor embeddings, TTensor i, TTensor j) => DeviceOps.Pairs(DeviceOps.DistanceRows(embeddings, kind), i, j, kind);
    }
}
