namespace Learner.Nn.Modules;

/// <summary>Logistic sigmoid (see <see cref="Ops.Sigmoid"/>). No parameters.</summary>
public sealed class Sigmoid : Module
{
    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => Ops.Sigmoid(input);
}
