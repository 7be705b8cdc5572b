namespace Learner.Downstream;

/// <summary>How a visit's scan embeddings are combined into one visit embedding for visit-level change prediction and
/// alignment.</summary>
public enum VisitPooling
{
    /// <summary>The mean of the visit's scan embeddings (<see cref="VisitPairs.MeanEmbeddings"/>).</summary>
    Mean,

    /// <summary>A learned weighted mean (<see cref="AttentionVisitPooling"/>), fit on the training patients' visits only.</summary>
    Attention,
}
