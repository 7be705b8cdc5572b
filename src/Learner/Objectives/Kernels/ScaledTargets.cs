namespace Learner.Objectives.Kernels;

/// <summary>Softmax targets whose anchor weights come from a per-row array instead of the targets' own (a reducer's
/// weights w_i, or 1/0 to compute each anchor's unweighted term): the loss is Σ_i w_i ℓ_i and its gradient w_i ∂ℓ_i.</summary>
internal readonly struct ScaledTargets<T> : ISoftmaxTargets where T : struct, ISoftmaxTargets
{
    private readonly T _targets;
    private readonly float[] _weights;
    private readonly int _offset;

    /// <param name="targets">The targets (their own anchor weights only decide which anchors have a term).</param>
    /// <param name="weights">Row i's weight at <c>weights[offset + i]</c>.</param>
    /// <param name="offset">Where the rows' weights start.</param>
    public ScaledTargets(T targets, float[] weights, int offset = 0) { _targets = targets; _weights = weights; _offset = offset; }

    public float AnchorWeight(int i) => _targets.AnchorWeight(i) == 0f ? 0f : _weights[_offset + i];

    public double TargetDot(int i, ReadOnlySpan<float> logits, Span<float> scratch) => _targets.TargetDot(i, logits, scratch);

    public void SubtractTargets(int i, Span<float> row, float scale, ReadOnlySpan<float> scratch) => _targets.SubtractTargets(i, row, scale, scratch);
}
