namespace Learner.Nn.Modules;

/// <summary>Inverted dropout, active in training mode only (see <see cref="Ops.Dropout"/>). No parameters; masks are drawn
/// from the generator given at construction, so a seed fixes them.</summary>
public sealed class Dropout : Module
{
    private readonly Rng _rng;

    /// <summary>Creates the layer.</summary>
    /// <param name="p">Probability of dropping an element, in [0, 1).</param>
    /// <param name="rng">The generator masks are drawn from.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="p"/> is not in [0, 1).</exception>
    public Dropout(float p, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        Ops.CheckDropProbability(p);
        P = p;
        _rng = rng;
    }

    /// <summary>The drop probability.</summary>
    public float P { get; }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => Ops.Dropout(input, P, Training, _rng);
}
