namespace Learner.Objectives.Kernels;

/// <summary>
/// The target distribution t_i· of a softmax contrastive objective (Σ_k t_ik = 1 over candidates k ≠ i) and each
/// anchor's weight in the loss. Implemented by structs so the fused kernel is specialised per objective.
/// </summary>
internal interface ISoftmaxTargets
{
    /// <summary>The weight of anchor <paramref name="i"/> in the loss (the reducer's 1/count folded in); 0 skips it.</summary>
    float AnchorWeight(int i);

    /// <summary>Σ_k t_ik·x_ik over <paramref name="logits"/> (the diagonal is not yet masked); may fill
    /// <paramref name="scratch"/> for <see cref="SubtractTargets"/> on the same row.</summary>
    double TargetDot(int i, ReadOnlySpan<float> logits, Span<float> scratch);

    /// <summary>row_k −= scale·t_ik.</summary>
    void SubtractTargets(int i, Span<float> row, float scale, ReadOnlySpan<float> scratch);
}
