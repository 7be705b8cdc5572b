namespace Learner.Nn.Modules;

/// <summary>Gaussian error linear unit (see <see cref="Ops.Gelu"/>). No parameters.</summary>
/// <param name="approximateTanh">Use the tanh approximation (PyTorch's approximate='tanh') instead of the exact erf form.</param>
public sealed class Gelu(bool approximateTanh = false) : Module
{
    /// <summary>Whether the tanh approximation is used.</summary>
    public bool ApproximateTanh { get; } = approximateTanh;

    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => Ops.Gelu(input, ApproximateTanh);
}
