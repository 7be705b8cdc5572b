namespace Learner.Objectives.Kernels;

/// <summary>One-hot targets: anchor i's positive is candidate partner(i) — the diagonal (cross-view InfoNCE) or
/// the other view of the same scan (NT-Xent over 2B rows).</summary>
internal readonly struct PartnerTargets : ISoftmaxTargets
{
    private readonly int _half;
    private readonly float _weight;

    /// <param name="half">0: partner(i) = i; otherwise partner(i) = (i + half) mod 2·half.</param>
    /// <param name="weight">Weight of every anchor.</param>
    public PartnerTargets(int half, float weight) { _half = half; _weight = weight; }

    private int Partner(int i) => _half == 0 ? i : (i < _half ? i + _half : i - _half);

    public float AnchorWeight(int i) => _weight;

    public double TargetDot(int i, ReadOnlySpan<float> logits, Span<float> scratch) => logits[Partner(i)];

    public void SubtractTargets(int i, Span<float> row, float scale, ReadOnlySpan<float> scratch) => row[Partner(i)] -= scale;
}
