namespace Learner.Objectives.Distances;

/// <summary>How pairwise objectives measure the distance between two embeddings.</summary>
public enum DistanceKind
{
    /// <summary>Cosine distance d = 1 − cos(a, b) = 1 − (a/‖a‖)·(b/‖b‖), in [0, 2]; invariant to the embeddings' scale.</summary>
    Cosine,
    /// <summary>Euclidean distance d = sqrt(‖a − b‖² + ε) (ε = 1e-12 keeps the gradient finite at coincident points).</summary>
    Euclidean,
    /// <summary>Squared Euclidean distance d = ‖a − b‖².</summary>
    SquaredEuclidean,
}
