using Learner.Objectives.Kernels;

namespace Learner.Objectives;

/// <summary>Shared plumbing of the built-in objectives: input checks, the single reported term, no parameters.</summary>
public abstract class ObjectiveBase : IObjective
{
    private readonly ObjectiveTerm[] _term = new ObjectiveTerm[1];

    /// <summary>Creates the objective with its registry name.</summary>
    /// <param name="name">The name.</param>
    protected ObjectiveBase(string name) => Name = name;

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public abstract BatchFields Requires { get; }

    /// <inheritdoc />
    public virtual IReadOnlyList<ObjectiveParameter> Parameters => Array.Empty<ObjectiveParameter>();

    /// <inheritdoc />
    public ObjectiveResult Compute(in EmbeddingBatch batch, Span<float> gradEmbeddings, Span<float> gradSecondView)
    {
        InputChecks.Batch(batch, Name, gradEmbeddings, gradSecondView);
        var (loss, active) = ComputeCore(batch, gradEmbeddings, gradSecondView);
        _term[0] = new ObjectiveTerm(Name, loss, 1.0);
        return new ObjectiveResult(loss, active, _term);
    }

    /// <summary>Computes the loss and its gradient with respect to the embeddings (no second view gradient).</summary>
    /// <param name="batch">The batch.</param>
    /// <param name="gradEmbeddings">Receives d(loss)/d(embeddings), B×D (overwritten); empty to compute the value only.</param>
    /// <returns>The loss and its terms.</returns>
    public ObjectiveResult Compute(in EmbeddingBatch batch, Span<float> gradEmbeddings) => Compute(batch, gradEmbeddings, default);

    /// <summary>Computes the loss and writes the gradients (buffers are checked: empty or B×D; embeddings are finite).</summary>
    /// <param name="batch">The batch.</param>
    /// <param name="gradEmbeddings">Gradient of the embeddings, or empty.</param>
    /// <param name="gradSecondView">Gradient of the second view, or empty.</param>
    /// <returns>The loss and the number of active items.</returns>
    protected abstract (double Loss, int Active) ComputeCore(in EmbeddingBatch batch, Span<float> gradEmbeddings, Span<float> gradSecondView);
}
