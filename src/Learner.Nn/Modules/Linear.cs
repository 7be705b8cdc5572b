namespace Learner.Nn.Modules;

/// <summary>
/// A fully connected layer <c>y = x · Wᵀ + b</c> over the last axis of its input (PyTorch's <c>nn.Linear</c>).
/// </summary>
/// <remarks>
/// Parameters: <c>weight</c> of shape [out, in] and, when enabled, <c>bias</c> of shape [out]. Initialisation is
/// PyTorch's default: the weight from Kaiming-uniform with <c>a = √5</c> (that is, U(−1/√in, 1/√in)) and the bias
/// from U(−1/√in, 1/√in), both drawn from the given <see cref="Rng"/>, weight first.
/// </remarks>
public sealed class Linear : Module
{
    /// <summary>Creates the layer and initialises its parameters from <paramref name="rng"/>.</summary>
    /// <param name="inFeatures">Size of the input's last axis (≥ 1).</param>
    /// <param name="outFeatures">Size of the output's last axis (≥ 1).</param>
    /// <param name="rng">The generator the initial values are drawn from.</param>
    /// <param name="bias">Whether the layer has an additive bias.</param>
    /// <exception cref="ArgumentOutOfRangeException">A feature count is below 1.</exception>
    public Linear(int inFeatures, int outFeatures, Rng rng, bool bias = true)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inFeatures, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(outFeatures, 1);
        ArgumentNullException.ThrowIfNull(rng);
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        Weight = RegisterParameter("weight", Tensor.CreateUnscoped(new[] { outFeatures, inFeatures }, clear: false));
        Init.KaimingUniform(Weight, rng, a: MathF.Sqrt(5f));
        if (bias)
        {
            Bias = RegisterParameter("bias", Tensor.CreateUnscoped(new[] { outFeatures }, clear: false));
            float bound = 1f / MathF.Sqrt(inFeatures);
            Init.Uniform(Bias, rng, -bound, bound);
        }
    }

    /// <summary>Size of the input's last axis.</summary>
    public int InFeatures { get; }

    /// <summary>Size of the output's last axis.</summary>
    public int OutFeatures { get; }

    /// <summary>The weight, shape [out, in].</summary>
    public Tensor Weight { get; }

    /// <summary>The bias, shape [out], or null for a layer without bias.</summary>
    public Tensor? Bias { get; }

    /// <summary>Applies the layer to an input of shape [..., in].</summary>
    /// <param name="input">The input.</param>
    /// <returns>The output, shape [..., out].</returns>
    /// <exception cref="ShapeMismatchException">The input's last axis is not <see cref="InFeatures"/>.</exception>
    public override Tensor Forward(Tensor input) => Ops.Linear(input, Weight, Bias);

    /// <inheritdoc />
    public override string ToString() => $"Linear(in={InFeatures}, out={OutFeatures}, bias={Bias is not null})";
}
