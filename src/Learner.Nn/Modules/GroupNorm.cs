namespace Learner.Nn.Modules;

/// <summary>Group normalisation (see <see cref="Ops.GroupNorm"/>). Parameters <c>weight</c> (ones) and <c>bias</c>
/// (zeros) of shape [C] when affine, as torch.nn.GroupNorm.</summary>
public sealed class GroupNorm : Module
{
    /// <summary>Creates the layer.</summary>
    /// <param name="numGroups">Number of groups; must divide <paramref name="numChannels"/>.</param>
    /// <param name="numChannels">Number of channels C.</param>
    /// <param name="eps">Added to the variance; finite and ≥ 0.</param>
    /// <param name="affine">Learn a per-channel scale and shift.</param>
    /// <exception cref="ArgumentException">Counts out of range, or C not divisible by the number of groups.</exception>
    public GroupNorm(int numGroups, int numChannels, float eps = 1e-5f, bool affine = true)
    {
        if (numGroups <= 0) throw new ArgumentOutOfRangeException(nameof(numGroups), numGroups, "GroupNorm: the number of groups must be positive.");
        if (numChannels <= 0) throw new ArgumentOutOfRangeException(nameof(numChannels), numChannels, "GroupNorm: the number of channels must be positive.");
        if (numChannels % numGroups != 0) throw new ArgumentException($"GroupNorm: {numChannels} channels cannot be split into {numGroups} groups.", nameof(numGroups));
        Ops.CheckEps(eps, "GroupNorm");
        NumGroups = numGroups;
        NumChannels = numChannels;
        Eps = eps;
        if (affine)
        {
            Weight = RegisterParameter("weight", Tensor.Ones(numChannels));
            Bias = RegisterParameter("bias", Tensor.Zeros(numChannels));
        }
    }

    /// <summary>Number of groups.</summary>
    public int NumGroups { get; }

    /// <summary>Number of channels C.</summary>
    public int NumChannels { get; }

    /// <summary>Added to the variance.</summary>
    public float Eps { get; }

    /// <summary>Per-channel scale [C], or null when not affine.</summary>
    public Tensor? Weight { get; }

    /// <summary>Per-channel shift [C], or null when not affine.</summary>
    public Tensor? Bias { get; }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank < 2 || input.Shape[1] != NumChannels)
            throw new ShapeMismatchException($"GroupNorm({NumGroups}, {NumChannels}): expected an input [N, {NumChannels}, …], got {Tensor.ShapeString(input.Shape)}.");
        return Ops.GroupNorm(input, NumGroups, Weight, Bias, Eps);
    }
}
