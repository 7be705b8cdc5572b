namespace Learner.Nn.Modules;

/// <summary>Returns its input unchanged (a placeholder layer, e.g. a removed classification head). No parameters.</summary>
public sealed class Identity : Module
{
    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return input;
    }
}
