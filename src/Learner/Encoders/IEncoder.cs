using Learner.Nn;

namespace Learner.Encoders;

/// <summary>
/// The encoder seam: everything the training loop, the embedding step and the experiment need from an encoder,
/// and nothing more. The managed engine implements it with <see cref="ModuleEncoder"/>; a GPU backend (for example a
/// TorchSharp package) implements it over its own tensors and optimizers.
/// </summary>
/// <remarks>
/// <para>Batches arrive as a Learner.Nn <see cref="Tensor"/> in host memory (the payload type of the data layer),
/// laid out <c>[B, …]</c>; embeddings and their gradients cross the seam as plain row-major <c>B×D</c> float spans, which
/// is what the objectives compute on. A backend copies them to and from its device once per batch.</para>
/// <para>Protocol of one training step: <see cref="IEncoderOptimizer.ZeroGrad"/>, <see cref="Forward"/> with
/// <c>requiresGrad: true</c>, the objective computes the embedding gradient, <see cref="Backward"/> with that gradient,
/// then <see cref="IEncoderOptimizer.Step"/>. A forward with <c>requiresGrad: true</c> must be followed by exactly one
/// <see cref="Backward"/> (or <see cref="DiscardGraph"/>) before the next forward.</para>
/// </remarks>
/// <remarks>Implementations are not expected to be thread-safe: run a step's Forward, Backward and DiscardGraph on one thread; the managed <see cref="ModuleEncoder"/> detects a call from another thread and throws <see cref="InvalidOperationException"/>.</remarks>
public interface IEncoder
{
    /// <summary>A short description of the architecture, for logs and reports.</summary>
    string Name { get; }

    /// <summary>Length D of one embedding.</summary>
    int EmbeddingDimension { get; }

    /// <summary>Number of trainable scalars.</summary>
    long ParameterCount { get; }

    /// <summary>Whether the encoder is in training mode (dropout on, batch norm on batch statistics).</summary>
    bool Training { get; }

    /// <summary>Switches between training and evaluation mode.</summary>
    /// <param name="training">True for training mode.</param>
    void SetTraining(bool training);

    /// <summary>Embeds a batch.</summary>
    /// <param name="input">The batch <c>[B, …]</c> (for example clips <c>[B, T, H, W]</c>).</param>
    /// <param name="embeddings">Receives the <c>B×D</c> embeddings, row-major.</param>
    /// <param name="requiresGrad">Keep what <see cref="Backward"/> needs.</param>
    /// <exception cref="ShapeMismatchException">The batch does not fit the encoder, or <paramref name="embeddings"/> is not B×D.</exception>
    void Forward(Tensor input, Span<float> embeddings, bool requiresGrad);

    /// <summary>Back-propagates a gradient on the embeddings of the last forward, accumulating parameter gradients.</summary>
    /// <param name="embeddingGradient">d(loss)/d(embeddings), <c>B×D</c>.</param>
    /// <exception cref="InvalidOperationException">No forward with <c>requiresGrad: true</c> is pending.</exception>
    void Backward(ReadOnlySpan<float> embeddingGradient);

    /// <summary>Releases the graph of a pending forward without back-propagating (for example when a step is skipped).</summary>
    void DiscardGraph();

    /// <summary>Creates the optimizer that updates this encoder's parameters.</summary>
    /// <param name="options">Optimizer settings.</param>
    /// <returns>The optimizer.</returns>
    IEncoderOptimizer CreateOptimizer(EncoderOptimizerOptions options);

    /// <summary>Saves the encoder's weights (and the optimizer's state, when given) atomically to a safetensors file.</summary>
    /// <param name="path">File path.</param>
    /// <param name="optimizer">The optimizer created by <see cref="CreateOptimizer"/>, or null.</param>
    /// <param name="metadata">String metadata stored in the file.</param>
    void Save(string path, IEncoderOptimizer? optimizer = null, IReadOnlyDictionary<string, string>? metadata = null);

    /// <summary>Loads weights (and optimizer state) saved by <see cref="Save"/>.</summary>
    /// <param name="path">File path.</param>
    /// <param name="optimizer">The optimizer to restore, or null.</param>
    /// <param name="strict">Fail on missing or unexpected keys.</param>
    /// <returns>The file's metadata.</returns>
    IReadOnlyDictionary<string, string> Load(string path, IEncoderOptimizer? optimizer = null, bool strict = true);

    /// <summary>Finds the first tensor of the encoder's state that holds NaN or infinity: every tensor <see cref="Save"/>
    /// writes for the encoder itself — parameters and buffers such as batch-norm running statistics (the optimizer's state
    /// is <see cref="IEncoderOptimizer.FindNonFiniteState"/>). The training loop calls it after every update and before
    /// every checkpoint, so that no checkpoint with a non-finite tensor is written.</summary>
    /// <returns>The first non-finite tensor, named as in the checkpoint, or null when every tensor is finite. The default
    /// implementation returns null: an encoder that does not override it is not checked (every built-in encoder does).</returns>
    NonFiniteTensor? FindNonFiniteTensor() => null;
}

/// <summary>The optimizer side of the encoder seam.</summary>
/// <remarks>Not thread-safe: it mutates the encoder's parameters and optimizer state; call it from the thread that runs the steps.</remarks>
public interface IEncoderOptimizer
{
    /// <summary>The learning rate applied by the next <see cref="Step"/> (the training loop's schedule sets it every step).</summary>
    double LearningRate { get; set; }

    /// <summary>Clears the accumulated parameter gradients.</summary>
    void ZeroGrad();

    /// <summary>Scales the gradients so their global L2 norm is at most <paramref name="maxNorm"/>.</summary>
    /// <param name="maxNorm">The bound.</param>
    /// <returns>The global norm before clipping.</returns>
    /// <exception cref="NonFiniteValueException">A gradient holds NaN or infinity; the message names the parameter.</exception>
    double ClipGradNorm(double maxNorm);

    /// <summary>Checks that every accumulated gradient is finite.</summary>
    /// <exception cref="NonFiniteValueException">A gradient holds NaN or infinity; the message names the parameter.</exception>
    void CheckGradientsFinite();

    /// <summary>Updates the parameters from their gradients.</summary>
    void Step();

    /// <summary>Number of completed steps.</summary>
    long StepCount { get; }

    /// <summary>Finds the first tensor of the optimizer's state (moments, momentum buffers) that holds NaN or infinity.</summary>
    /// <returns>The first non-finite state tensor, named as in the checkpoint, or null when all are finite. The default
    /// implementation returns null: an optimizer that does not override it is not checked (the built-in ones are).</returns>
    NonFiniteTensor? FindNonFiniteState() => null;
}

/// <summary>A tensor that holds NaN or infinity, as reported by <see cref="IEncoder.FindNonFiniteTensor"/> and
/// <see cref="IEncoderOptimizer.FindNonFiniteState"/>.</summary>
/// <param name="Name">The tensor's name as in the checkpoint (for example <c>0.weight</c>, <c>1.running_var</c>, or
/// <c>optim.3.exp_avg</c> for optimizer state).</param>
/// <param name="Index">The flat (row-major) index of the first non-finite element.</param>
/// <param name="Value">That element (NaN, +∞ or −∞).</param>
/// <param name="Owner">For optimizer state: the name of the parameter the state belongs to; otherwise null.</param>
public sealed record NonFiniteTensor(string Name, long Index, float Value, string? Owner = null)
{
    /// <summary>"'name' holds value at flat index i" (with the owning parameter for optimizer state).</summary>
    /// <returns>The description.</returns>
    public override string ToString() => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"tensor '{Name}'{(Owner is null ? "" : $" (state of parameter '{Owner}')")} holds {Value} at flat index {Index}");
}

/// <summary>The optimizer algorithms every backend provides.</summary>
public enum OptimizerKind
{
    /// <summary>AdamW: Adam with decoupled weight decay (Loshchilov &amp; Hutter 2019).</summary>
    AdamW,

    /// <summary>Stochastic gradient descent with momentum (optionally Nesterov).</summary>
    Sgd,
}

/// <summary>Settings of an encoder's optimizer.</summary>
public sealed record EncoderOptimizerOptions
{
    /// <summary>The algorithm. Default AdamW.</summary>
    public OptimizerKind Kind { get; init; } = OptimizerKind.AdamW;

    /// <summary>Peak learning rate (&gt; 0). Default 6·10⁻³: chosen by the validation search on the development LUS cohort
    /// (of 1.5, 3 and 6·10⁻³, for MSE and MSE + weighted contrastive alike; docs/results.md).</summary>
    public double LearningRate { get; init; } = 6e-3;

    /// <summary>Weight decay (≥ 0; decoupled for AdamW). Default 1e-4.</summary>
    public double WeightDecay { get; init; } = 1e-4;

    /// <summary>Momentum for SGD (in [0, 1)). Default 0.9.</summary>
    public double Momentum { get; init; } = 0.9;

    /// <summary>Nesterov momentum for SGD. Default false.</summary>
    public bool Nesterov { get; init; }

    /// <summary>AdamW's β₁ and β₂ (each in [0, 1)). Default (0.9, 0.999).</summary>
    public (double Beta1, double Beta2) Betas { get; init; } = (0.9, 0.999);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (!(LearningRate > 0) || double.IsInfinity(LearningRate)) throw new ArgumentException(FormattableString.Invariant($"LearningRate must be positive and finite, got {LearningRate}."), nameof(LearningRate));
        if (!(WeightDecay >= 0) || double.IsInfinity(WeightDecay)) throw new ArgumentException(FormattableString.Invariant($"WeightDecay must be non-negative and finite, got {WeightDecay}."), nameof(WeightDecay));
        if (!(Momentum >= 0 && Momentum < 1)) throw new ArgumentException(FormattableString.Invariant($"Momentum must be in [0, 1), got {Momentum}."), nameof(Momentum));
        if (Nesterov && Momentum == 0) throw new ArgumentException("Nesterov momentum needs Momentum > 0.", nameof(Nesterov));
        if (!(Betas.Beta1 >= 0 && Betas.Beta1 < 1) || !(Betas.Beta2 >= 0 && Betas.Beta2 < 1))
            throw new ArgumentException(FormattableString.Invariant($"Betas must each be in [0, 1), got ({Betas.Beta1}, {Betas.Beta2})."), nameof(Betas));
    }
}
