using System.Globalization;

namespace Learner.Nn;

/// <summary>The nonlinearity that follows a layer, for the gain of <see cref="Init"/>'s scaled initialisers.</summary>
public enum Nonlinearity
{
    /// <summary>Identity (gain 1).</summary>
    Linear,
    /// <summary>A convolution without activation (gain 1).</summary>
    Conv,
    /// <summary>Logistic sigmoid (gain 1).</summary>
    Sigmoid,
    /// <summary>Hyperbolic tangent (gain 5/3).</summary>
    Tanh,
    /// <summary>Rectified linear unit (gain √2).</summary>
    Relu,
    /// <summary>Leaky ReLU with negative slope <c>a</c> (gain √(2 / (1 + a²)); a = 0.01 unless given).</summary>
    LeakyRelu,
    /// <summary>SELU (gain 3/4).</summary>
    Selu,
}

/// <summary>Which fan a Kaiming initialiser preserves the variance of.</summary>
public enum FanMode
{
    /// <summary>Preserve the variance of activations in the forward pass (divide by fan-in).</summary>
    FanIn,
    /// <summary>Preserve the variance of gradients in the backward pass (divide by fan-out).</summary>
    FanOut,
}

/// <summary>
/// Parameter initialisers with PyTorch's definitions (<c>torch.nn.init</c>), each drawing from an explicit
/// <see cref="Rng"/> so that a seed fixes every value. All of them overwrite the tensor in place (no autograd is
/// recorded) and return it.
/// </summary>
/// <remarks>
/// Fans follow PyTorch: for a weight of shape [out, in, k₁, …, kₙ] (Linear: [out, in]; Conv2d: [out, in/groups, kh, kw];
/// Conv3d: [out, in/groups, kd, kh, kw]) the receptive field is k₁·…·kₙ, fan-in = in·receptive and
/// fan-out = out·receptive.
/// </remarks>
public static class Init
{
    /// <summary>The recommended gain for <paramref name="nonlinearity"/> (PyTorch's <c>calculate_gain</c>).</summary>
    /// <param name="nonlinearity">The nonlinearity.</param>
    /// <param name="negativeSlope">The negative slope of <see cref="Nonlinearity.LeakyRelu"/> (default 0.01); ignored otherwise.</param>
    /// <returns>The gain.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The slope is not finite or the nonlinearity is unknown.</exception>
    public static double CalculateGain(Nonlinearity nonlinearity, double? negativeSlope = null)
    {
        switch (nonlinearity)
        {
            case Nonlinearity.Linear:
            case Nonlinearity.Conv:
            case Nonlinearity.Sigmoid:
                return 1.0;
            case Nonlinearity.Tanh:
                return 5.0 / 3.0;
            case Nonlinearity.Relu:
                return Math.Sqrt(2.0);
            case Nonlinearity.LeakyRelu:
                double a = negativeSlope ?? 0.01;
                if (!double.IsFinite(a)) throw new ArgumentOutOfRangeException(nameof(negativeSlope), a, "The negative slope must be finite.");
                return Math.Sqrt(2.0 / (1.0 + a * a));
            case Nonlinearity.Selu:
                return 3.0 / 4.0;
            default:
                throw new ArgumentOutOfRangeException(nameof(nonlinearity), nonlinearity, "Unknown nonlinearity.");
        }
    }

    /// <summary>The fan-in and fan-out of a weight of shape <paramref name="shape"/> (rank ≥ 2).</summary>
    /// <param name="shape">[out, in, kernel…].</param>
    /// <returns>(fan-in, fan-out).</returns>
    /// <exception cref="ShapeMismatchException">The shape has fewer than two axes.</exception>
    public static (long FanIn, long FanOut) ComputeFans(ReadOnlySpan<int> shape)
    {
        if (shape.Length < 2)
            throw new ShapeMismatchException($"Fan-in and fan-out need a weight of rank ≥ 2 ([out, in, kernel…]); got shape {Tensor.ShapeString(shape)}.");
        long receptive = ShapeUtil.Product(shape, 2, shape.Length);
        return (shape[1] * receptive, shape[0] * receptive);
    }

    /// <summary>Kaiming (He) uniform initialisation: U(−b, b) with b = gain·√(3 / fan).</summary>
    /// <param name="tensor">The weight, rank ≥ 2.</param>
    /// <param name="rng">The generator.</param>
    /// <param name="a">Negative slope of the leaky ReLU that follows (used only with <see cref="Nonlinearity.LeakyRelu"/>).</param>
    /// <param name="mode">Which fan to use.</param>
    /// <param name="nonlinearity">The nonlinearity that follows (PyTorch's default: leaky ReLU, which with a = 0 is ReLU).</param>
    /// <returns><paramref name="tensor"/>.</returns>
    public static Tensor KaimingUniform(Tensor tensor, Rng rng, double a = 0, FanMode mode = FanMode.FanIn, Nonlinearity nonlinearity = Nonlinearity.LeakyRelu)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        double std = KaimingStd(tensor, a, mode, nonlinearity);
        if (tensor.Size == 0) return tensor;
        float bound = (float)(Math.Sqrt(3.0) * std);
        rng.FillUniform(tensor.Data, -bound, bound);
        return tensor;
    }

    /// <summary>Kaiming (He) normal initialisation: N(0, σ²) with σ = gain / √fan.</summary>
    /// <param name="tensor">The weight, rank ≥ 2.</param>
    /// <param name="rng">The generator.</param>
    /// <param name="a">Negative slope of the leaky ReLU that follows (used only with <see cref="Nonlinearity.LeakyRelu"/>).</param>
    /// <param name="mode">Which fan to use.</param>
    /// <param name="nonlinearity">The nonlinearity that follows.</param>
    /// <returns><paramref name="tensor"/>.</returns>
    public static Tensor KaimingNormal(Tensor tensor, Rng rng, double a = 0, FanMode mode = FanMode.FanIn, Nonlinearity nonlinearity = Nonlinearity.LeakyRelu)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        double std = KaimingStd(tensor, a, mode, nonlinearity);
        if (tensor.Size == 0) return tensor;
        rng.FillNormal(tensor.Data, 0f, (float)std);
        return tensor;
    }

    /// <summary>Xavier (Glorot) uniform initialisation: U(−b, b) with b = gain·√(6 / (fan-in + fan-out)).</summary>
    /// <param name="tensor">The weight, rank ≥ 2.</param>
    /// <param name="rng">The generator.</param>
    /// <param name="gain">Scaling factor (see <see cref="CalculateGain"/>).</param>
    /// <returns><paramref name="tensor"/>.</returns>
    public static Tensor XavierUniform(Tensor tensor, Rng rng, double gain = 1.0)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        double std = XavierStd(tensor, gain);
        if (tensor.Size == 0) return tensor;
        float bound = (float)(Math.Sqrt(3.0) * std);
        rng.FillUniform(tensor.Data, -bound, bound);
        return tensor;
    }

    /// <summary>Xavier (Glorot) normal initialisation: N(0, σ²) with σ = gain·√(2 / (fan-in + fan-out)).</summary>
    /// <param name="tensor">The weight, rank ≥ 2.</param>
    /// <param name="rng">The generator.</param>
    /// <param name="gain">Scaling factor (see <see cref="CalculateGain"/>).</param>
    /// <returns><paramref name="tensor"/>.</returns>
    public static Tensor XavierNormal(Tensor tensor, Rng rng, double gain = 1.0)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        double std = XavierStd(tensor, gain);
        if (tensor.Size == 0) return tensor;
        rng.FillNormal(tensor.Data, 0f, (float)std);
        return tensor;
    }

    /// <summary>Fills with U(<paramref name="low"/>, <paramref name="high"/>).</summary>
    /// <param name="tensor">The tensor.</param>
    /// <param name="rng">The generator.</param>
    /// <param name="low">Lower bound.</param>
    /// <param name="high">Upper bound (≥ low).</param>
    /// <returns><paramref name="tensor"/>.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The bounds are not finite or are reversed.</exception>
    public static Tensor Uniform(Tensor tensor, Rng rng, float low = 0f, float high = 1f)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        ArgumentNullException.ThrowIfNull(rng);
        if (!float.IsFinite(low) || !float.IsFinite(high) || high < low)
            throw new ArgumentOutOfRangeException(nameof(high), $"Uniform bounds must be finite with low ≤ high; got [{F(low)}, {F(high)}].");
        rng.FillUniform(tensor.Data, low, high);
        return tensor;
    }

    /// <summary>Fills with N(<paramref name="mean"/>, <paramref name="std"/>²).</summary>
    /// <param name="tensor">The tensor.</param>
    /// <param name="rng">The generator.</param>
    /// <param name="mean">Mean.</param>
    /// <param name="std">Standard deviation (≥ 0).</param>
    /// <returns><paramref name="tensor"/>.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The mean or standard deviation is not finite, or the deviation is negative.</exception>
    public static Tensor Normal(Tensor tensor, Rng rng, float mean = 0f, float std = 1f)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        ArgumentNullException.ThrowIfNull(rng);
        if (!float.IsFinite(mean) || !float.IsFinite(std) || std < 0)
            throw new ArgumentOutOfRangeException(nameof(std), $"Normal needs a finite mean and a finite std ≥ 0; got mean {F(mean)}, std {F(std)}.");
        rng.FillNormal(tensor.Data, mean, std);
        return tensor;
    }

    /// <summary>Fills with zeros.</summary>
    /// <param name="tensor">The tensor.</param>
    /// <returns><paramref name="tensor"/>.</returns>
    public static Tensor Zeros(Tensor tensor) => Constant(tensor, 0f);

    /// <summary>Fills with ones.</summary>
    /// <param name="tensor">The tensor.</param>
    /// <returns><paramref name="tensor"/>.</returns>
    public static Tensor Ones(Tensor tensor) => Constant(tensor, 1f);

    /// <summary>Fills with <paramref name="value"/>.</summary>
    /// <param name="tensor">The tensor.</param>
    /// <param name="value">The value.</param>
    /// <returns><paramref name="tensor"/>.</returns>
    public static Tensor Constant(Tensor tensor, float value)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        tensor.Data.Fill(value);
        return tensor;
    }

    private static double KaimingStd(Tensor tensor, double a, FanMode mode, Nonlinearity nonlinearity)
    {
        var (fanIn, fanOut) = ComputeFans(tensor.Shape);
        long fan = mode switch
        {
            FanMode.FanIn => fanIn,
            FanMode.FanOut => fanOut,
            _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "Unknown fan mode."),
        };
        double gain = CalculateGain(nonlinearity, a);
        return fan == 0 ? 0 : gain / Math.Sqrt(fan);
    }

    private static double XavierStd(Tensor tensor, double gain)
    {
        if (!double.IsFinite(gain)) throw new ArgumentOutOfRangeException(nameof(gain), gain, "The gain must be finite.");
        var (fanIn, fanOut) = ComputeFans(tensor.Shape);
        long sum = fanIn + fanOut;
        return sum == 0 ? 0 : gain * Math.Sqrt(2.0 / sum);
    }

    private static string F(float v) => v.ToString("G9", CultureInfo.InvariantCulture);
}
