using Learner.Nn;
using Learner.Objectives.Options;

namespace Learner.Objectives;

/// <summary>The score-regression head every MSE objective owns, whatever computes it: w (length D, uniform in ±1/√D
/// from <see cref="MseOptions.InitSeed"/>), b = 0, their gradient buffers, the <see cref="ObjectiveParameter"/>s
/// "mse.head.weight" / "mse.head.bias", and the normalised target. A backend's MSE objective owns one so that it
/// starts from the same head and predicts the same target as <see cref="MseScoreRegression"/>.</summary>
public sealed class MseHead
{
    private readonly double _invScale;

    /// <summary>Creates the head from validated options (<see cref="MseOptions.EmbeddingDimension"/> inputs).</summary>
    /// <param name="options">The options.</param>
    public MseHead(MseOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
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

    /// <summary>The options.</summary>
    public MseOptions Options { get; }

    /// <summary>w, length D (requires gradients).</summary>
    public Tensor Weight { get; }

    /// <summary>b, length 1 (requires gradients).</summary>
    public Tensor Bias { get; }

    /// <summary>d(loss)/dw, written by the objective that owns the head.</summary>
    public Tensor WeightGradient { get; }

    /// <summary>d(loss)/db, written by the objective that owns the head.</summary>
    public Tensor BiasGradient { get; }

    /// <summary>The head's parameters with their gradient buffers, as <see cref="IObjective.Parameters"/> reports them.</summary>
    public IReadOnlyList<ObjectiveParameter> Parameters { get; }

    /// <summary>(score − offset) / scale, in double.</summary>
    /// <param name="score">A health score.</param>
    /// <returns>The normalised target.</returns>
    public double Target(float score) => (score - (double)Options.ScoreOffset) * _invScale;

    /// <summary>Throws when a batch's D is not the head's.</summary>
    /// <param name="dimension">The batch's D.</param>
    /// <exception cref="ObjectiveInputException">D differs from <see cref="MseOptions.EmbeddingDimension"/>.</exception>
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
