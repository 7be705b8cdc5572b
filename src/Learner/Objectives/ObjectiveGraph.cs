using Learner.Nn;

namespace Learner.Objectives;

/// <summary>
/// Makes an objective a node of a Learner.Nn autograd graph: the objective runs its fused forward+backward once, and
/// the returned scalar loss tensor back-propagates exactly that gradient into the embeddings (and second view, and the
/// objective's own parameters), so a training loop can call <c>loss.Backward()</c> through a Learner.Nn encoder.
/// </summary>
/// <remarks>
/// The loss tensor is recorded with <see cref="Autograd.Function"/>: its value is exactly the objective's loss and its
/// gradient with respect to each input is exactly the gradient the fused kernel computed (scaled by the gradient
/// flowing into the loss), with no extra pass over the inputs.
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
    /// <param name="result">The objective's result (its terms are its own: a later call does not change them).</param>
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

        var inputs = new List<Tensor>();
        var grads = new List<Tensor>();
        if (gradE) { inputs.Add(embeddings); grads.Add(ge!); }
        if (gradV) { inputs.Add(secondView!); grads.Add(gv!); }
        foreach (var p in objective.Parameters)
            if (p.Value.RequiresGrad) { inputs.Add(p.Value); grads.Add(p.Gradient.Clone()); }
        var loss = Tensor.Scalar((float)result.Loss);
        // The objective already computed d(loss)/d(input) for every input: scale by the incoming gradient.
        return Autograd.Function(objective.Name, inputs, loss, g =>
        {
            float s = g.Item();
            var r = new Tensor?[grads.Count];
            for (int k = 0; k < r.Length; k++) r[k] = Ops.Mul(grads[k], s); // fresh: the engine may accumulate into it
            return r;
        });
    }
}
