namespace Learner.Nn.Modules;

/// <summary>Leaky rectified linear unit (see <see cref="Ops.LeakyRelu"/>). No parameters.</summary>
public sealed class LeakyRelu : Module
{
    /// <summary>Creates the activation.</summary>
    /// <param name="slope">Slope for non-positive inputs (PyTorch's negative_slope); must be finite.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="slope"/> is NaN or infinite.</exception>
    public LeakyRelu(float slope = 0.01f)
    {
        if (!float.IsFinite(slope)) throw new ArgumentOutOfRangeException(nameof(slope), slope, FormattableString.Invariant($"LeakyRelu: slope must be finite, got {slope}."));
        Slope = slope;
    }

    /// <summary>Slope for non-positive inputs.</summary>
    public float Slope { get; }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => Ops.LeakyRelu(input, Slope);
}
