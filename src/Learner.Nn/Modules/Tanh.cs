namespace Learner.Nn.Modules;

/// <summary>Hyperbolic tangent (see <see cref="Ops.Tanh"/>). No parameters.</summary>
public sealed class Tanh : Module
{
    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => Ops.Tanh(input);
}
