using Learner.Nn;

namespace Learner.Objectives;

/// <summary>
/// Makes an objective a node of a Learner.Nn autograd graph: the objective runs its fused forward+backward once, and
/// the returned scalar loss tensor back-propagates exactly that gradient into the embeddings (and second view, and the
/// objective's own parameters), so a training loop can call <c>loss.Backward()</c> through a Learner.Nn encoder.
/// </summary>
/// <remarks>
/// The loss tensor is built from public operations as value + Σ_x Σ(x ⊙ g_x) − (the same sum as a constant): its value
/// is exactly the objective's loss and its gradient with respect to each input x is exactly g_x (scaled by the
/// gradient flowing into the loss). Costs one multiply and one sum per input, negligible beside the objective.
/// </remarks>
public static class ObjectiveGraph
{
    /// <summary>Computes <paramref name="objective"/> on tensors and returns its loss as a scalar tensor.</summary>
    /// <param name="objective">The objective.</param>
    /// <param name="embeddings">B×D embeddings (usually an encoder's output).</param>
    /// <param name="metadata">The batch's metadata, or null when the objective needs none.</param>
    /// <param name="secondView">A second view (B×D), for objectives that use one.</param>
    /// <returns>The loss (rank 0).</returns>
    /// <exception cref="ShapeMismatchException">The embeddings are not rank 2, or the second view's shape differs.</exception>
    public static Tensor Loss(this IObjective objective, Tensor embeddings, BatchMetadata? metadata = null, Tensor? secondView = null)
        => Loss(objective, embeddings, metadata, secondView, out _);

    /// <summary>Computes <paramref name="objective"/> on tensors and returns its loss as a scalar tensor, and the
    /// objective's result (with its terms) for logging.</summary>
    /// <param name="objective">The objective.</param>
    /// <param name="embeddings">B×D embeddings.</param>
    /// <param name="metadata">The batch's metadata, or null.</param>
    /// <param name="secondView">A second view (B×D), or null.</param>
    /// <param name="result">The objective's result (terms valid until the objective's next call).</param>
    /// <returns>The loss (rank 0).</returns>
    public static Tensor Loss(this IObjective objective, Tensor embeddings, BatchMetadata? metadata, Tensor? secondView, out ObjectiveResult result)
    {
        ArgumentNullException.ThrowIfNull(objective);
        ArgumentNullException.ThrowIfNull(embeddings);
        if (embeddings.Rank != 2)
            throw new ShapeMismatchException($"{objective.Name}: embeddings must be B×D (rank 2), got rank {embeddings.Rank} with {embeddings.Size} elements.");
        int b = embeddings.Dim(0), d = embeddings.Dim(1);
        if (secondView is not null && (secondView.Rank != 2 || secondView.Dim(0) != b || secondView.Dim(1) != d))
            throw new ShapeMismatchException($"{objective.Name}: the second view must have the embeddings' shape [{b}, {d}], got rank {secondView.Rank} with {secondView.Size} elements.");
        metadata ??= new BatchMetadata();
        bool record = Autograd.IsGradEnabled;
        bool gradE = record && embeddings.RequiresGrad;
        bool gradV = record && secondView is not null && secondView.RequiresGrad;
        bool gradP = false;
        if (record) foreach (var p in objective.Parameters) gradP |= p.Value.RequiresGrad;
        var batch = metadata.ToBatch(embeddings.Data, b, d, secondView is null ? default : secondView.Data);
        Tensor? ge = gradE || gradP ? Tensor.Empty(b, d) : null;
        Tensor? gv = gradV ? Tensor.Empty(b, d) : null;
        result = objective.Compute(batch, ge is null ? Span<float>.Empty : ge.Data, gv is null ? Span<float>.Empty : gv.Data);
        if (!(gradE || gradV || gradP)) return Tensor.Scalar((float)result.Loss);

        Tensor? linear = null;
        void Add(Tensor x, Tensor g)
        {
            var term = Ops.Sum(Ops.Mul(x, g));
            linear = linear is null ? term : Ops.Add(linear, term);
        }
        if (gradE) Add(embeddings, ge!);
        if (gradV) Add(secondView!, gv!);
        foreach (var p in objective.Parameters)
            if (p.Value.RequiresGrad) Add(p.Value, p.Gradient.Clone());
        // linear − value(linear) is exactly 0 in value and has gradient g_x with respect to each x.
        var zero = Ops.Sub(linear!, Tensor.Scalar(linear!.Item()));
        return Ops.Add(zero, (float)result.Loss);
    }
}
