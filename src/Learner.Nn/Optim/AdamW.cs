using System.Globalization;

namespace Learner.Nn.Optim;

/// <summary>
/// Adam with decoupled weight decay (Loshchilov &amp; Hutter), with exactly PyTorch's semantics
/// (<c>torch.optim.AdamW</c>, optional AMSGrad):
/// <code>
/// p = p·(1 − lr·λ)
/// m = β₁·m + (1 − β₁)·g,   v = β₂·v + (1 − β₂)·g²,   v̂ = max(v̂, v) (AMSGrad)
/// p = p − lr/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)
/// </code>
/// State per parameter: <c>exp_avg</c>, <c>exp_avg_sq</c> and, with AMSGrad, <c>max_exp_avg_sq</c>; the step count t
/// is per parameter.
/// </summary>
public sealed class AdamW : Optimizer
{
    private static readonly string[] Buffers = { "exp_avg", "exp_avg_sq" };
    private static readonly string[] AmsBuffers = { "exp_avg", "exp_avg_sq", "max_exp_avg_sq" };

    /// <summary>Creates the optimizer over one group of parameters.</summary>
    /// <param name="parameters">The parameters (e.g. <c>model.Parameters()</c>).</param>
    /// <param name="learningRate">Learning rate.</param>
    /// <param name="beta1">Decay of the first-moment average, in [0, 1).</param>
    /// <param name="beta2">Decay of the second-moment average, in [0, 1).</param>
    /// <param name="eps">Term added to the denominator (&gt; 0 recommended).</param>
    /// <param name="weightDecay">Decoupled weight decay λ.</param>
    /// <param name="amsgrad">Use the maximum of past second moments (AMSGrad).</param>
    /// <param name="maximize">Ascend the objective instead of descending it.</param>
    public AdamW(IEnumerable<Tensor> parameters, double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 1e-2, bool amsgrad = false, bool maximize = false)
        : this(new[] { new ParameterGroupSpec(parameters ?? throw new ArgumentNullException(nameof(parameters))) }, learningRate, beta1, beta2, eps, weightDecay, amsgrad, maximize)
    {
    }

    /// <summary>Creates the optimizer over parameter groups, each possibly with its own learning rate and weight decay.</summary>
    /// <param name="groups">The groups.</param>
    /// <param name="learningRate">Default learning rate.</param>
    /// <param name="beta1">Decay of the first-moment average, in [0, 1).</param>
    /// <param name="beta2">Decay of the second-moment average, in [0, 1).</param>
    /// <param name="eps">Term added to the denominator (≥ 0).</param>
    /// <param name="weightDecay">Default decoupled weight decay λ.</param>
    /// <param name="amsgrad">Use the maximum of past second moments (AMSGrad).</param>
    /// <param name="maximize">Ascend the objective instead of descending it.</param>
    /// <exception cref="ArgumentOutOfRangeException">A hyper-parameter is out of range.</exception>
    public AdamW(IEnumerable<ParameterGroupSpec> groups, double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 1e-2, bool amsgrad = false, bool maximize = false)
        : base(groups, learningRate, weightDecay, amsgrad ? AmsBuffers : Buffers)
    {
        if (!(beta1 >= 0 && beta1 < 1)) throw new ArgumentOutOfRangeException(nameof(beta1), beta1, "beta1 must be in [0, 1).");
        if (!(beta2 >= 0 && beta2 < 1)) throw new ArgumentOutOfRangeException(nameof(beta2), beta2, "beta2 must be in [0, 1).");
        if (!(eps >= 0) || !double.IsFinite(eps)) throw new ArgumentOutOfRangeException(nameof(eps), eps, "eps must be finite and ≥ 0.");
        Beta1 = beta1;
        Beta2 = beta2;
        Eps = eps;
        Amsgrad = amsgrad;
        Maximize = maximize;
    }

    /// <inheritdoc />
    public override string Kind => "AdamW";

    /// <summary>Decay of the first-moment average.</summary>
    public double Beta1 { get; private set; }

    /// <summary>Decay of the second-moment average.</summary>
    public double Beta2 { get; private set; }

    /// <summary>Denominator term ε.</summary>
    public double Eps { get; private set; }

    /// <summary>Whether AMSGrad is used.</summary>
    public bool Amsgrad { get; }

    /// <summary>Whether the objective is maximized.</summary>
    public bool Maximize { get; private set; }

    /// <inheritdoc />
    protected override void Update(int index, ParameterGroup group, Span<float> param, ReadOnlySpan<float> grad, long step)
    {
        double lr = group.LearningRate;
        double biasCorrection1 = 1 - Math.Pow(Beta1, step);
        double biasCorrection2 = 1 - Math.Pow(Beta2, step);
        double stepSize = lr / biasCorrection1;
        OptimKernels.AdamW(param, grad, Buffer(0, index), Buffer(1, index), Amsgrad ? Buffer(2, index) : Span<float>.Empty,
            Amsgrad, Maximize, F(1 - lr * group.WeightDecay), F(Beta1), F(1 - Beta1), F(Beta2), F(1 - Beta2),
            F(Math.Sqrt(biasCorrection2)), F(Eps), F(-stepSize));
    }

    /// <inheritdoc />
    protected override IReadOnlyDictionary<string, double> GetHyperparameters() => new Dictionary<string, double>
    {
        ["beta1"] = Beta1,
        ["beta2"] = Beta2,
        ["eps"] = Eps,
        ["amsgrad"] = Amsgrad ? 1 : 0,
        ["maximize"] = Maximize ? 1 : 0,
    };

    /// <inheritdoc />
    protected override void CheckHyperparameters(IReadOnlyDictionary<string, double> h, List<string> problems)
    {
        foreach (var key in new[] { "beta1", "beta2", "eps", "amsgrad", "maximize" })
            if (!h.ContainsKey(key)) problems.Add($"hyper-parameter '{key}' is missing");
        if (h.TryGetValue("beta1", out var b1) && !(b1 >= 0 && b1 < 1)) problems.Add($"invalid beta1 {Fmt(b1)}");
        if (h.TryGetValue("beta2", out var b2) && !(b2 >= 0 && b2 < 1)) problems.Add($"invalid beta2 {Fmt(b2)}");
        if (h.TryGetValue("eps", out var e) && !(e >= 0 && double.IsFinite(e))) problems.Add($"invalid eps {Fmt(e)}");
        if (h.TryGetValue("amsgrad", out var a) && (a != 0) != Amsgrad)
            problems.Add($"the state has amsgrad={(a != 0 ? "true" : "false")}, this optimizer amsgrad={(Amsgrad ? "true" : "false")}");
    }

    /// <inheritdoc />
    protected override void SetHyperparameters(IReadOnlyDictionary<string, double> h)
    {
        Beta1 = h["beta1"];
        Beta2 = h["beta2"];
        Eps = h["eps"];
        Maximize = h["maximize"] != 0;
    }

    private static string Fmt(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
