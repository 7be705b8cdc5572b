using System.Globalization;

namespace Learner.Nn.Optim;

/// <summary>
/// What an optimizer is asked to train as one group: parameters and, optionally, a learning rate and weight decay
/// of their own (otherwise the optimizer's defaults apply). Typical use: no weight decay on biases and norm scales.
/// </summary>
public sealed class ParameterGroupSpec
{
    /// <summary>Creates the group description.</summary>
    /// <param name="parameters">The parameters (leaf tensors).</param>
    /// <param name="learningRate">The group's learning rate, or null for the optimizer's.</param>
    /// <param name="weightDecay">The group's weight decay, or null for the optimizer's.</param>
    public ParameterGroupSpec(IEnumerable<Tensor> parameters, double? learningRate = null, double? weightDecay = null)
    {
        Parameters = parameters ?? throw new ArgumentNullException(nameof(parameters));
        LearningRate = learningRate;
        WeightDecay = weightDecay;
    }

    /// <summary>The parameters.</summary>
    public IEnumerable<Tensor> Parameters { get; }

    /// <summary>The group's learning rate, or null for the optimizer's.</summary>
    public double? LearningRate { get; }

    /// <summary>The group's weight decay, or null for the optimizer's.</summary>
    public double? WeightDecay { get; }
}

/// <summary>A group of parameters inside an optimizer, with the learning rate and weight decay it is updated with.
/// Schedulers change <see cref="LearningRate"/> between steps.</summary>
public sealed class ParameterGroup
{
    private double _learningRate;
    private double _weightDecay;

    internal ParameterGroup(int index, Tensor[] parameters, double learningRate, double weightDecay)
    {
        Index = index;
        ParametersArray = parameters;
        LearningRate = learningRate;
        WeightDecay = weightDecay;
    }

    /// <summary>The group's position in <see cref="Optimizer.ParamGroups"/>.</summary>
    public int Index { get; }

    internal Tensor[] ParametersArray { get; }

    /// <summary>The group's parameters, in the order given.</summary>
    public IReadOnlyList<Tensor> Parameters => ParametersArray;

    /// <summary>The learning rate (finite, ≥ 0).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative or not finite.</exception>
    public double LearningRate
    {
        get => _learningRate;
        set => _learningRate = CheckNonNegative(value, "learning rate", Index);
    }

    /// <summary>The weight decay (finite, ≥ 0).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative or not finite.</exception>
    public double WeightDecay
    {
        get => _weightDecay;
        set => _weightDecay = CheckNonNegative(value, "weight decay", Index);
    }

    internal static double CheckNonNegative(double value, string what, int group)
    {
        if (!double.IsFinite(value) || value < 0)
            throw new ArgumentOutOfRangeException(what, value, $"Parameter group {group.ToString(CultureInfo.InvariantCulture)}: the {what} must be finite and ≥ 0, got {value.ToString("R", CultureInfo.InvariantCulture)}.");
        return value;
    }
}
