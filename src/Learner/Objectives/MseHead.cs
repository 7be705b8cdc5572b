using Learner.Nn;
using Learner.Objectives.Options;

namespace Learner.Objectives;

/// <summary>The score-regression head every MSE objective owns, whatever computes it: w (length D, uniform in ±1/√D
/// from <see cref="MseOptions.InitSeed"/>), b = 0, their gradient buffers, the <see cref="ObjectiveParameter"/>s
/// "mse.head.weight" / "mse.head.bias", and the normalised target.</summary>
internal sealed class MseHead
{
    private readonly double _invScale;

    public MseHead(MseOptions options)
    {
        Options = options;
        _invScale = 1.0 / options.ScoreScale;
        int d = options.EmbeddingDimension;
        Weight = Unscoped(new float[d], "mse.head.weight", d);
        Bias = Unscoped(new float[1], "mse.head.bias", 1);
        WeightGradient = Unscoped(new float[d], "mse.head.weight.grad", d);
        BiasGradient = Unscoped(new float[1], "mse.head.bias.grad", 1);
        float bound = 1f / MathF.Sqrt(d);
        new Rng(options.InitSeed).FillUniform(Weight.Data, -bound, bound);
        Weight.RequiresGrad = true;
        Bias.RequiresGrad = true;
        Parameters = new[]
        {
            new ObjectiveParameter(Weight.Name!, Weight, WeightGradient),
            new ObjectiveParameter(Bias.Name!, Bias, BiasGradient),
        };
    }

    public MseOptions Options { get; }

    public Tensor Weight { get; }

    public Tensor Bias { get; }

    public Tensor WeightGradient { get; }

    public Tensor BiasGradient { get; }

    public IReadOnlyList<ObjectiveParameter> Parameters { get; }

    /// <summary>(score − offset) / scale, in double.</summary>
    public double Target(float score) => (score - (double)Options.ScoreOffset) * _invScale;

    /// <summary>Throws when a batch's D is not the head's.</summary>
    public void CheckDimension(int dimension)
    {
        if (dimension != Options.EmbeddingDimension)
            throw new ObjectiveInputException($"MSE score regression: the batch has D = {dimension}, the head was built for EmbeddingDimension = {Options.EmbeddingDimension}.", "Dimension");
    }

    private static Tensor Unscoped(float[] data, string name, int length)
    {
        var t = new Tensor(data, length) { Name = name };
        TensorScope.Current?.Keep(t);
        return t;
    }
}
