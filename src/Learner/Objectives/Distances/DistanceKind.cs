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
    /// <summary>Euclidean distance between the L2-normalised embeddings, d = sqrt(‖a/‖a‖ − b/‖b‖‖² + ε) in [0, 2]
    /// (= sqrt(2 − 2 cos) up to ε): pytorch-metric-learning's default distance, <c>LpDistance(normalize_embeddings=True)</c>.</summary>
    NormalizedEuclidean,
}
