namespace Learner.Objectives;

/// <summary>The metadata fields of an <see cref="EmbeddingBatch"/> an objective reads.</summary>
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
