namespace Learner.Objectives;

/// <summary>Fields of an <see cref="EmbeddingBatch"/>: what an objective requires (<see cref="IObjective.Requires"/>) and
/// what it reads when present (<see cref="IObjective.Reads"/>).</summary>
[Flags]
public enum BatchFields
{
    /// <summary>Only the embeddings.</summary>
    None = 0,
    /// <summary><see cref="EmbeddingBatch.SecondView"/>.</summary>
    SecondView = 1,
    /// <summary><see cref="EmbeddingBatch.Scores"/>.</summary>
    Scores = 2,
    /// <summary><see cref="EmbeddingBatch.PatientIds"/>.</summary>
    PatientIds = 4,
    /// <summary><see cref="EmbeddingBatch.Labels"/>.</summary>
    Labels = 8,
    /// <summary><see cref="EmbeddingBatch.Pairs"/>.</summary>
    Pairs = 16,
    /// <summary><see cref="EmbeddingBatch.Triplets"/>.</summary>
    Triplets = 32,
}
