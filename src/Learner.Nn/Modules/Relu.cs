namespace Learner.Nn.Modules;

/// <summary>Rectified linear unit, max(x, 0) (see <see cref="Ops.Relu"/>). No parameters.</summary>
public sealed class Relu : Module
{
    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => Ops.Relu(input);
}
