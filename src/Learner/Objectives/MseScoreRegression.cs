using Learner.Nn.Kernels;
using System.Numerics.Tensors;
using Tensor = Learner.Nn.Tensor;
using Learner.Nn;
using Learner.Objectives.Kernels;
using Learner.Objectives.Options;

namespace Learner.Objectives;

/// <summary>
/// The paper's baseline: a linear head regresses the normalised health score from each embedding,
/// L = (1/B) Σ_i (w·e_i + b − t_i)², t_i = (s_i − offset) / scale. The objective owns the head (w, b) and writes
/// its gradient as well as the embeddings'.
/// Reference: LEARNER (arXiv 2411.01144), single-scan score regression pretraining.
/// </summary>
public sealed class MseScoreRegression : ObjectiveBase<MseOptions>
{
    private readonly Workspace<float> _residual = new();
    private readonly MseHead _head;

    /// <summary>Creates the objective and initialises its head from <see cref="MseOptions.InitSeed"/>.</summary>
    /// <param name="options">Options (validated; <see cref="MseOptions.EmbeddingDimension"/> is required).</param>
    public MseScoreRegression(MseOptions options) : base("mse", options ?? throw new ArgumentNullException(nameof(options)))
        => _head = new MseHead(Options);

    /// <summary>The head's weight w (length D).</summary>
    public Tensor HeadWeight => _head.Weight;

    /// <summary>The head's bias b (length 1).</summary>
    public Tensor HeadBias => _head.Bias;

    /// <summary>d(loss)/dw from the last call.</summary>
    public Tensor HeadWeightGradient => _head.WeightGradient;

    /// <summary>d(loss)/db from the last call.</summary>
    public Tensor HeadBiasGradient => _head.BiasGradient;

    /// <inheritdoc />
    public override IReadOnlyList<ObjectiveParameter> Parameters => _head.Parameters;

    /// <inheritdoc />
    public override BatchFields Requires => BatchFields.Scores;

    /// <summary>The head's prediction (in normalised score units) for one embedding.</summary>
    /// <param name="embedding">An embedding of length D.</param>
    /// <returns>w·e + b.</returns>
    public float Predict(ReadOnlySpan<float> embedding)
    {
        if (embedding.Length != Options.EmbeddingDimension)
            throw new ObjectiveInputException($"MSE head: the embedding has {embedding.Length} values, the head expects D = {Options.EmbeddingDimension}.", nameof(embedding));
        return (float)(Simd.Dot(embedding, HeadWeight.Data) + HeadBias.Data[0]);
    }

    /// <inheritdoc />
    protected override (double Loss, int Active) ComputeCore(in EmbeddingBatch batch, Span<float> gradEmbeddings, Span<float> gradSecondView)
    {
        int b = batch.Count, d = batch.Dimension;
        _head.CheckDimension(d);
        var scores = BatchContract.Scores(batch, "MSE score regression");
        var w = HeadWeight.Data;
        float bias = HeadBias.Data[0];
        var r = _residual.Get(b);
        double loss = 0, sumR = 0;
        for (int i = 0; i < b; i++)
        {
            double pred = Simd.Dot(batch.Row(i), w) + bias;
            double res = pred - _head.Target(scores[i]);
            loss += res * res;
            r[i] = (float)(2.0 * res / b);
            sumR += 2.0 * res / b;
        }
        var gw = HeadWeightGradient.Data;
        gw.Clear();
        for (int i = 0; i < b; i++)
        {
            TensorPrimitives.MultiplyAdd(batch.Row(i), r[i], gw, gw);
            if (!gradEmbeddings.IsEmpty) TensorPrimitives.Multiply(w, r[i], gradEmbeddings.Slice(i * d, d));
        }
        HeadBiasGradient.Data[0] = (float)sumR;
        gradSecondView.Clear();
        return (loss / b, b);
    }
}
