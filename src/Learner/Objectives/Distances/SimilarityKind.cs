namespace Learner.Objectives.Distances;

/// <summary>How softmax objectives (InfoNCE, SupCon, y-aware InfoNCE) score the similarity of two embeddings.</summary>
public enum SimilarityKind
{
    /// <summary>Cosine similarity (a/‖a‖)·(b/‖b‖): the embeddings are L2-normalised first (the usual choice).</summary>
    Cosine,
    /// <summary>Dot product a·b of the raw embeddings.</summary>
    Dot,
}
