using Learner.Nn;
using Learner.Objectives;
using Learner.Objectives.Options;
using static TorchSharp.torch;
using LTensor = Learner.Nn.Tensor;
using TTensor = TorchSharp.torch.Tensor;

namespace Learner.TorchSharp.Objectives;

/// <summary>The paper's score-regression baseline (<see cref="MseScoreRegression"/>) on a libtorch device. The linear
/// head (w, b) stays a pair of host parameters — initialised from <see cref="MseOptions.InitSeed"/> exactly as the
/// managed head, named <c>mse.head.weight</c> / <c>mse.head.bias</c>, updated by the pretrainer's optimizer — and is
/// uploaded with each batch (D + 1 values); its gradient comes back into <see cref="HeadWeightGradient"/> and
/// <see cref="HeadBiasGradient"/>.</summary>
public sealed class TorchSharpMseScoreRegression : TorchSharpObjective
{
    private readonly ObjectiveParameter[] _parameters;

    /// <summary>Creates the objective and initialises its head.</summary>
    /// <param name="options">Options (validated; <see cref="MseOptions.EmbeddingDimension"/> is required).</param>
    /// <param name="device">The device, or null for CUDA when available, else the CPU.</param>
    public TorchSharpMseScoreRegression(MseOptions options, Device? device = null) : base("mse", device)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        int d = options.EmbeddingDimension;
        HeadWeight = Unscoped(new float[d], "mse.head.weight", d);
        HeadBias = Unscoped(new float[1], "mse.head.bias", 1);
        HeadWeightGradient = Unscoped(new float[d], "mse.head.weight.grad", d);
        HeadBiasGradient = Unscoped(new float[1], "mse.head.bias.grad", 1);
        float bound = 1f / MathF.Sqrt(d);
        new Rng(options.InitSeed).FillUniform(HeadWeight.Data, -bound, bound);
        HeadWeight.RequiresGrad = true;
        HeadBias.RequiresGrad = true;
        _parameters = new[]
        {
            new ObjectiveParameter(HeadWeight.Name!, HeadWeight, HeadWeightGradient),
            new ObjectiveParameter(HeadBias.Name!, HeadBias, HeadBiasGradient),
        };
    }

    private static LTensor Unscoped(float[] data, string name, int length)
    {
        var t = new LTensor(data, length) { Name = name };
        TensorScope.Current?.Keep(t);
        return t;
    }

    /// <summary>The options.</summary>
    public MseOptions Options { get; }

    /// <summary>The head's weight w (length D, host).</summary>
    public LTensor HeadWeight { get; }

    /// <summary>The head's bias b (length 1, host).</summary>
    public LTensor HeadBias { get; }

    /// <summary>d(loss)/dw from the last <see cref="TorchSharpObjective.Compute(in EmbeddingBatch, Span{float}, Span{float})"/>.</summary>
    public LTensor HeadWeightGradient { get; }

    /// <summary>d(loss)/db from the last <see cref="TorchSharpObjective.Compute(in EmbeddingBatch, Span{float}, Span{float})"/>.</summary>
    public LTensor HeadBiasGradient { get; }

    /// <inheritdoc />
    public override IReadOnlyList<ObjectiveParameter> Parameters => _parameters;

    /// <inheritdoc />
    public override BatchFields Requires => BatchFields.Scores;

    private protected override IReadOnlyList<TTensor> UploadParameters(bool requiresGrad) => new[]
    {
        // The head's gradient is always written, as the managed objective does.
        tensor(HeadWeight.Data.ToArray(), new long[] { Options.EmbeddingDimension }).to(Device).requires_grad_(true),
        tensor(HeadBias.Data.ToArray(), new long[] { 1 }).to(Device).requires_grad_(true),
    };

    private protected override void DownloadParameterGradients(IReadOnlyList<TTensor> parameters)
    {
        Download(parameters[0], HeadWeightGradient.Data);
        Download(parameters[1], HeadBiasGradient.Data);

        static void Download(TTensor leaf, Span<float> destination)
        {
            using var grad = leaf.GradOrNull();
            if (grad is null) { destination.Clear(); return; }
            using var host = grad.cpu().contiguous();
            host.data<float>().ToArray().AsSpan().CopyTo(destination);
        }
    }

    internal override TTensor LossCore(TTensor z, TTensor? second, in BatchView meta, IReadOnlyList<TTensor> parameters, out int active)
    {
        int b = meta.Count, d = meta.Dimension;
        if (d != Options.EmbeddingDimension)
            throw new ObjectiveInputException($"MSE score regression: the batch has D = {d}, the head was built for EmbeddingDimension = {Options.EmbeddingDimension}.", "Dimension");
        var scores = meta.CheckedScores("MSE score regression");
        var target = new float[b];
        double invScale = 1.0 / Options.ScoreScale;
        for (int i = 0; i < b; i++) target[i] = (float)((scores[i] - (double)Options.ScoreOffset) * invScale);
        var prediction = z.matmul(parameters[0]) + parameters[1];
        active = b;
        return (prediction - tensor(target, new long[] { b }).to(Device)).square().mean();
    }
}
