namespace Learner.Objectives;

/// <summary>
/// A training objective on a batch of embeddings: computes the loss and, in the same fused pass, its exact gradient
/// with respect to the embeddings (and to any parameters the objective owns). Backend independent: the caller pushes
/// the gradient back through its encoder (see <see cref="ObjectiveGraph"/> for Learner.Nn tensors).
/// </summary>
/// <remarks>Objectives own reusable workspaces and are not thread-safe: use one instance per training loop.</remarks>
public interface IObjective
{
    /// <summary>The objective's name (its registry name, e.g. "infonce").</summary>
    string Name { get; }

    /// <summary>The batch fields the objective cannot do without, in the configuration its options select: a batch
    /// without one of them is refused with <see cref="ObjectiveInputException"/>. Where either of two fields will do
    /// (the sampler's pairs, or coarse labels to form every pair), neither is listed here; both are in
    /// <see cref="Reads"/>.</summary>
    BatchFields Requires { get; }

    /// <summary>The fields the objective cannot do without when its batches carry only the optional fields in
    /// <paramref name="available"/> (a batch source that never draws pairs, say): a contrastive loss that would take the
    /// sampler's pairs then needs coarse labels. What a training loop checks its data against before the first step, so
    /// that it refuses what a step would refuse. By default <see cref="Requires"/>.</summary>
    /// <param name="available">The fields the batches will carry (metadata fields whose presence depends on the source:
    /// pairs, triplets, a second view).</param>
    /// <returns>The required fields.</returns>
    BatchFields RequiresGiven(BatchFields available) => Requires;

    /// <summary>Every batch field the objective reads when present (a superset of <see cref="Requires"/>): what a
    /// training loop should fill. A second view listed here but not in <see cref="Requires"/> is used when given, and
    /// need not be generated. By default (an implementation that does not say): <see cref="Requires"/> and every
    /// metadata field (scores, patient ids, labels, pairs, triplets), so that a wrapper written before this property
    /// existed still receives everything its inner objective may read.</summary>
    BatchFields Reads => Requires | BatchFields.Scores | BatchFields.PatientIds | BatchFields.Labels | BatchFields.Pairs | BatchFields.Triplets;

    /// <summary>Parameters the objective owns (e.g. the MSE baseline's linear head); empty for most objectives.</summary>
    IReadOnlyList<ObjectiveParameter> Parameters { get; }

    /// <summary>Computes the loss and its gradients.</summary>
    /// <param name="batch">The batch.</param>
    /// <param name="gradEmbeddings">Receives d(loss)/d(embeddings), B×D (overwritten); empty to compute the value only.</param>
    /// <param name="gradSecondView">Receives d(loss)/d(second view), B×D (overwritten), when the batch has a second
    /// view; empty otherwise or to skip it.</param>
    /// <returns>The loss and its terms.</returns>
    /// <exception cref="ObjectiveInputException">Metadata the objective needs is missing or mis-sized, or a gradient buffer has the wrong length.</exception>
    /// <exception cref="NonFiniteEmbeddingException">An embedding or score is NaN or infinite.</exception>
    ObjectiveResult Compute(in EmbeddingBatch batch, Span<float> gradEmbeddings, Span<float> gradSecondView);

    /// <summary>Computes the loss and its gradient with respect to the embeddings (see
    /// <see cref="Compute(in EmbeddingBatch, Span{float}, Span{float})"/>).</summary>
    /// <param name="batch">The batch.</param>
    /// <param name="gradEmbeddings">Receives d(loss)/d(embeddings), B×D (overwritten); empty to compute the value only.</param>
    /// <returns>The loss and its terms.</returns>
    ObjectiveResult Compute(in EmbeddingBatch batch, Span<float> gradEmbeddings) => Compute(batch, gradEmbeddings, default);
}

/// <summary>A parameter owned by an objective, with the gradient the last <see cref="IObjective.Compute(in EmbeddingBatch, Span{float}, Span{float})"/> wrote.</summary>
/// <param name="Name">Qualified name, e.g. "mse.head.weight".</param>
/// <param name="Value">The parameter (requires gradients, so an optimizer can update it).</param>
/// <param name="Gradient">d(loss)/d(parameter) from the last call (overwritten by each call).</param>
public sealed record ObjectiveParameter(string Name, Learner.Nn.Tensor Value, Learner.Nn.Tensor Gradient);
