namespace Learner.Objectives.Reducers;

/// <summary>What one term a <see cref="ReducerBase"/> reduces stands for.</summary>
public enum TermKind : byte
{
    /// <summary>A positive pair's term (pulling two embeddings together).</summary>
    PositivePair,
    /// <summary>A negative pair's term (pushing two embeddings apart).</summary>
    NegativePair,
    /// <summary>A triplet's term (anchor, positive, negative).</summary>
    Triplet,
    /// <summary>An anchor's term of a softmax objective (SupCon, InfoNCE, y-aware InfoNCE, Rank-N-Contrast): its
    /// cross-entropy over its row of candidates.</summary>
    Anchor,
}

/// <summary>The counts of the terms of one reduction.</summary>
/// <param name="Count">Every term.</param>
/// <param name="Active">Terms with ℓ ≠ 0.</param>
/// <param name="Positives">Positive-pair terms (0 for triplets).</param>
/// <param name="PositiveActive">Positive-pair terms with ℓ ≠ 0.</param>
public readonly record struct TermCounts(long Count, long Active, long Positives, long PositiveActive)
{
    /// <summary>Terms that are not positive pairs (negative pairs, triplets).</summary>
    public long Others => Count - Positives;

    /// <summary>Terms that are not positive pairs and have ℓ ≠ 0.</summary>
    public long OtherActive => Active - PositiveActive;
}
