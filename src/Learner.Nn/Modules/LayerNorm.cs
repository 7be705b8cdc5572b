namespace Learner.Nn.Modules;

/// <summary>Layer normalisation over trailing axes (see <see cref="Ops.LayerNorm"/>). Parameters <c>weight</c> (ones) and
/// <c>bias</c> (zeros) of the normalized shape when elementwise-affine, as torch.nn.LayerNorm.</summary>
public sealed class LayerNorm : Module
{
    private readonly int[] _normalizedShape;

    /// <summary>Creates the layer.</summary>
    /// <param name="normalizedShape">The trailing shape to normalise over (at least one positive axis).</param>
    /// <param name="eps">Added to the variance; finite and ≥ 0.</param>
    /// <param name="elementwiseAffine">Learn an elementwise scale and shift.</param>
    /// <exception cref="ArgumentException">The shape is empty or has a non-positive axis, or eps is out of range.</exception>
    public LayerNorm(int[] normalizedShape, float eps = 1e-5f, bool elementwiseAffine = true)
    {
        ArgumentNullException.ThrowIfNull(normalizedShape);
        if (normalizedShape.Length == 0 || normalizedShape.Any(d => d <= 0))
            throw new ArgumentException($"LayerNorm: the normalized shape must have at least one axis, all positive, got {Tensor.ShapeString(normalizedShape)}.", nameof(normalizedShape));
        Ops.CheckEps(eps, "LayerNorm");
        _normalizedShape = (int[])normalizedShape.Clone();
        Eps = eps;
        if (elementwiseAffine)
        {
            Weight = RegisterParameter("weight", Tensor.Ones(_normalizedShape));
            Bias = RegisterParameter("bias", Tensor.Zeros(_normalizedShape));
        }
    }

    /// <summary>Creates a layer normalising over the last axis of length <paramref name="features"/>.</summary>
    /// <param name="features">Length of the last axis.</param>
    /// <param name="eps">Added to the variance.</param>
    /// <param name="elementwiseAffine">Learn an elementwise scale and shift.</param>
    public LayerNorm(int features, float eps = 1e-5f, bool elementwiseAffine = true) : this(new[] { features }, eps, elementwiseAffine) { }

    /// <summary>The trailing shape normalised over.</summary>
    public ReadOnlySpan<int> NormalizedShape => _normalizedShape;

    /// <summary>Added to the variance.</summary>
    public float Eps { get; }

    /// <summary>Elementwise scale, or null when not affine.</summary>
    public Tensor? Weight { get; }

    /// <summary>Elementwise shift, or null when not affine.</summary>
    public Tensor? Bias { get; }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => Ops.LayerNorm(input, _normalizedShape, Weight, Bias, Eps);
}
