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
public sealed class MseScoreRegression : ObjectiveBase
{
    private readonly Workspace<float> _residual = new();
    private readonly ObjectiveParameter[] _parameters;

    /// <summary>Creates the objective and initialises its head from <see cref="MseOptions.InitSeed"/>.</summary>
    /// <param name="options">Options (validated; <see cref="MseOptions.EmbeddingDimension"/> is required).</param>
    public MseScoreRegression(MseOptions options) : base("mse")
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        int d = options.EmbeddingDimension;
        HeadWeight = Unscoped(new float[d], "mse.head.weight", d);
        HeadBias = Unscoped(new float[1], "mse.head.bias", 1);
        HeadWeightGradient = Unscoped(new float[d], "mse.head.weight.grad", d);
        HeadBiasGradient = Unscoped(new float[1], "mse.head.bias.grad", 1);
        var rng = new Rng(options.InitSeed);
        float bound = 1f / MathF.Sqrt(d);
        rng.FillUniform(HeadWeight.Data, -bound, bound);
        HeadWeight.RequiresGrad = true;
        HeadBias.RequiresGrad = true;
        _parameters = new[]
        {
            new ObjectiveParameter(HeadWeight.Name!, HeadWeight, HeadWeightGradient),
            new ObjectiveParameter(HeadBias.Name!, HeadBias, HeadBiasGradient),
        };
    }

    private static Tensor Unscoped(float[] data, string name, int length)
    {
        var t = new Tensor(data, length) { Name = name };
        TensorScope.Current?.Keep(t);
        return t;
    }

    /// <summary>The options.</summary>
    public MseOptions Options { get; }

    /// <summary>The head's weight w (length D).</summary>
    public Tensor HeadWeight { get; }

    /// <summary>The head's bias b (length 1).</summary>
    public Tensor HeadBias { get; }

    /// <summary>d(loss)/dw from the last call.</summary>
    public Tensor HeadWeightGradient { get; }

    /// <summary>d(loss)/db from the last call.</summary>
    public Tensor HeadBiasGradient { get; }

    /// <inheritdoc />
    public override IReadOnlyList<ObjectiveParameter> Parameters => _parameters;

    /// <inheritdoc />
    public override BatchFields Requires => BatchFields.Scores;

    /// <summary>The head's prediction (in normalised score units) for one embedding.</summary>
    /// <param name="embedding">An embedding of length D.</param>
    /// <returns>w·e + b.</returns>
    public float Predict(ReadOnlySpan<float> embedding)
    {
        if (embedding.Length != Options.EmbeddingDimension)
            throw new ObjectiveInputException($"MSE head: the embedding has {embedding.Length} values, the head expects D = {Options.EmbeddingDimension}.", nameof(embedding));
        return (float)(Accumulate.Dot(embedding, HeadWeight.Data) + HeadBias.Data[0]);
    }

    /// <inheritdoc />
    protected override (double Loss, int Active) ComputeCore(in EmbeddingBatch batch, Span<float> gradEmbeddings, Span<float> gradSecondView)
    {
        int b = batch.Count, d = batch.Dimension;
        if (d != Options.EmbeddingDimension)
            throw new ObjectiveInputException($"MSE score regression: the batch has D = {d}, the head was built for EmbeddingDimension = {Options.EmbeddingDimension}.", "Dimension");
        var scores = InputChecks.Scores(batch, "MSE score regression");
        var w = HeadWeight.Data;
        float bias = HeadBias.Data[0];
        var r = _residual.Get(b);
        double loss = 0, sumR = 0;
        double invScale = 1.0 / Options.ScoreScale;
        for (int i = 0; i < b; i++)
        {
            double pred = Accumulate.Dot(batch.Row(i), w) + bias;
            double target = (scores[i] - (double)Options.ScoreOffset) * invScale;
            double res = pred - target;
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
