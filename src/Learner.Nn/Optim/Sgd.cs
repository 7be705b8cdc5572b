using System.Globalization;

namespace Learner.Nn.Optim;

/// <summary>
/// Stochastic gradient descent with optional momentum, dampening, Nesterov momentum and (coupled) weight decay,
/// with exactly PyTorch's semantics (<c>torch.optim.SGD</c>):
/// <code>
/// d = g + λ·p                              (when λ ≠ 0)
/// b = d on the first step, else μ·b + (1 − τ)·d   (when μ ≠ 0)
/// d = d + μ·b (Nesterov) or d = b           (when μ ≠ 0)
/// p = p − lr·d
/// </code>
/// State per parameter: <c>momentum_buffer</c> (only with momentum).
/// </summary>
public sealed class Sgd : Optimizer
{
    private static readonly string[] MomentumBuffers = { "momentum_buffer" };

    /// <summary>Creates the optimizer over one group of parameters.</summary>
    /// <param name="parameters">The parameters (e.g. <c>model.Parameters()</c>).</param>
    /// <param name="learningRate">Learning rate.</param>
    /// <param name="momentum">Momentum factor μ (0 for none).</param>
    /// <param name="dampening">Dampening τ of the momentum.</param>
    /// <param name="weightDecay">L2 penalty λ added to the gradient.</param>
    /// <param name="nesterov">Nesterov momentum (needs μ &gt; 0 and τ = 0).</param>
    /// <param name="maximize">Ascend the objective instead of descending it.</param>
    public Sgd(IEnumerable<Tensor> parameters, double learningRate, double momentum = 0, double dampening = 0, double weightDecay = 0, bool nesterov = false, bool maximize = false)
        : this(new[] { new ParameterGroupSpec(parameters ?? throw new ArgumentNullException(nameof(parameters))) }, learningRate, momentum, dampening, weightDecay, nesterov, maximize)
    {
    }

    /// <summary>Creates the optimizer over parameter groups, each possibly with its own learning rate and weight decay.</summary>
    /// <param name="groups">The groups.</param>
    /// <param name="learningRate">Default learning rate.</param>
    /// <param name="momentum">Momentum factor μ (0 for none).</param>
    /// <param name="dampening">Dampening τ of the momentum.</param>
    /// <param name="weightDecay">Default L2 penalty λ.</param>
    /// <param name="nesterov">Nesterov momentum (needs μ &gt; 0 and τ = 0).</param>
    /// <param name="maximize">Ascend the objective instead of descending it.</param>
    /// <exception cref="ArgumentOutOfRangeException">A hyper-parameter is negative or not finite.</exception>
    /// <exception cref="ArgumentException">Nesterov without momentum or with dampening, or invalid parameters.</exception>
    public Sgd(IEnumerable<ParameterGroupSpec> groups, double learningRate, double momentum = 0, double dampening = 0, double weightDecay = 0, bool nesterov = false, bool maximize = false)
        : base(groups, learningRate, weightDecay, CheckMomentum(momentum) != 0 ? MomentumBuffers : Array.Empty<string>())
    {
        if (!double.IsFinite(dampening)) throw new ArgumentOutOfRangeException(nameof(dampening), dampening, "Dampening must be finite.");
        if (nesterov && (momentum <= 0 || dampening != 0))
            throw new ArgumentException($"Nesterov momentum requires momentum > 0 and zero dampening (got momentum {Fmt(momentum)}, dampening {Fmt(dampening)}).", nameof(nesterov));
        Momentum = momentum;
        Dampening = dampening;
        Nesterov = nesterov;
        Maximize = maximize;
    }

    /// <inheritdoc />
    public override string Kind => "Sgd";

    /// <summary>Momentum factor μ.</summary>
    public double Momentum { get; private set; }

    /// <summary>Dampening τ.</summary>
    public double Dampening { get; private set; }

    /// <summary>Whether Nesterov momentum is used.</summary>
    public bool Nesterov { get; private set; }

    /// <summary>Whether the objective is maximized.</summary>
    public bool Maximize { get; private set; }

    /// <inheritdoc />
    protected override void Update(int index, ParameterGroup group, Span<float> param, ReadOnlySpan<float> grad, long step)
    {
        var buffer = Momentum != 0 ? Buffer(0, index) : Span<float>.Empty;
        OptimKernels.Sgd(param, grad, buffer, firstStep: step == 1, F(group.WeightDecay), F(Momentum), F(1 - Dampening), F(-group.LearningRate), Nesterov, Maximize);
    }

    /// <inheritdoc />
    protected override IReadOnlyDictionary<string, double> GetHyperparameters() => new Dictionary<string, double>
    {
        ["momentum"] = Momentum,
        ["dampening"] = Dampening,
        ["nesterov"] = Nesterov ? 1 : 0,
        ["maximize"] = Maximize ? 1 : 0,
    };

    /// <inheritdoc />
    protected override void CheckHyperparameters(IReadOnlyDictionary<string, double> h, List<string> problems)
    {
        foreach (var key in new[] { "momentum", "dampening", "nesterov", "maximize" })
            if (!h.ContainsKey(key)) problems.Add($"hyper-parameter '{key}' is missing");
        if (h.TryGetValue("momentum", out var m) && (!double.IsFinite(m) || m < 0)) problems.Add($"invalid momentum {Fmt(m)}");
        else if (h.TryGetValue("momentum", out m) && (m != 0) != (Momentum != 0))
            problems.Add($"the state has momentum {Fmt(m)}, this optimizer {Fmt(Momentum)}: momentum buffers cannot be converted");
        if (h.TryGetValue("dampening", out var d) && !double.IsFinite(d)) problems.Add($"invalid dampening {Fmt(d)}");
        if (h.TryGetValue("nesterov", out var n) && n != 0 && (!h.TryGetValue("momentum", out m) || m <= 0 || d != 0))
            problems.Add("Nesterov momentum with zero momentum or non-zero dampening");
    }

    /// <inheritdoc />
    protected override void SetHyperparameters(IReadOnlyDictionary<string, double> h)
    {
        Momentum = h["momentum"];
        Dampening = h["dampening"];
        Nesterov = h["nesterov"] != 0;
        Maximize = h["maximize"] != 0;
    }

    private static double CheckMomentum(double momentum)
    {
        if (!double.IsFinite(momentum) || momentum < 0) throw new ArgumentOutOfRangeException(nameof(momentum), momentum, "Momentum must be finite and ≥ 0.");
        return momentum;
    }

    private static string Fmt(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
