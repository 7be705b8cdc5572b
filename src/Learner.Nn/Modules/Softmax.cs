namespace Learner.Nn.Modules;

/// <summary>Softmax along an axis (see <see cref="Ops.Softmax"/>). No parameters.</summary>
/// <param name="axis">The axis to normalise over; negative counts from the end.</param>
public sealed class Softmax(int axis = -1) : Module
{
    /// <summary>The axis normalised over.</summary>
    public int Axis { get; } = axis;

    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => Ops.Softmax(input, Axis);
}
