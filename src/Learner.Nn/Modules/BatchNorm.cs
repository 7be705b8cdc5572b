namespace Learner.Nn.Modules;

/// <summary>
/// Batch normalisation over channel axis 1 of inputs [N, C, …] of any rank ≥ 2 (see <see cref="Ops.BatchNorm"/>).
/// Parameters <c>weight</c> (ones) and <c>bias</c> (zeros) when affine; buffers <c>running_mean</c> (zeros),
/// <c>running_var</c> (ones) and <c>num_batches_tracked</c> (a float scalar) when tracking running statistics — the
/// names PyTorch uses, so checkpoints line up. <see cref="BatchNorm1d"/>, <see cref="BatchNorm2d"/> and
/// <see cref="BatchNorm3d"/> additionally check the input rank.
/// </summary>
public class BatchNorm : Module
{
    /// <summary>Creates the layer.</summary>
    /// <param name="numFeatures">Number of channels C.</param>
    /// <param name="eps">Added to the variance; finite and ≥ 0.</param>
    /// <param name="momentum">Weight of each batch in the running statistics, in [0, 1]; null for a cumulative average
    /// (momentum 1/num_batches_tracked), as PyTorch's momentum=None.</param>
    /// <param name="affine">Learn a per-channel scale and shift.</param>
    /// <param name="trackRunningStats">Keep running statistics (used in evaluation); without them batch statistics are always used.</param>
    /// <exception cref="ArgumentOutOfRangeException">A count, eps or momentum out of range.</exception>
    public BatchNorm(int numFeatures, float eps = 1e-5f, float? momentum = 0.1f, bool affine = true, bool trackRunningStats = true)
    {
        if (numFeatures <= 0) throw new ArgumentOutOfRangeException(nameof(numFeatures), numFeatures, "BatchNorm: the number of features must be positive.");
        Ops.CheckEps(eps, "BatchNorm");
        if (momentum is float m) Ops.CheckMomentum(m, "BatchNorm");
        NumFeatures = numFeatures;
        Eps = eps;
        Momentum = momentum;
        if (affine)
        {
            Weight = RegisterParameter("weight", Tensor.Ones(numFeatures));
            Bias = RegisterParameter("bias", Tensor.Zeros(numFeatures));
        }
        if (trackRunningStats)
        {
            RunningMean = RegisterBuffer("running_mean", Tensor.Zeros(numFeatures));
            RunningVar = RegisterBuffer("running_var", Tensor.Ones(numFeatures));
            NumBatchesTracked = RegisterBuffer("num_batches_tracked", Tensor.Scalar(0f));
        }
    }

    /// <summary>Number of channels C.</summary>
    public int NumFeatures { get; }

    /// <summary>Added to the variance.</summary>
    public float Eps { get; }

    /// <summary>Weight of each batch in the running statistics; null for a cumulative average.</summary>
    public float? Momentum { get; }

    /// <summary>Per-channel scale [C], or null when not affine.</summary>
    public Tensor? Weight { get; }

    /// <summary>Per-channel shift [C], or null when not affine.</summary>
    public Tensor? Bias { get; }

    /// <summary>Running mean [C], or null when running statistics are not tracked.</summary>
    public Tensor? RunningMean { get; }

    /// <summary>Running unbiased variance [C], or null when running statistics are not tracked.</summary>
    public Tensor? RunningVar { get; }

    /// <summary>Number of training batches seen (a float scalar), or null when running statistics are not tracked.</summary>
    public Tensor? NumBatchesTracked { get; }

    /// <summary>Checks the input's rank; the base class accepts any rank ≥ 2.</summary>
    /// <param name="input">The input.</param>
    /// <exception cref="ShapeMismatchException">The rank is not accepted.</exception>
    protected virtual void CheckRank(Tensor input)
    {
        if (input.Rank < 2) throw new ShapeMismatchException($"{GetType().Name}: input must be [N, C, …] with rank ≥ 2, got {Tensor.ShapeString(input.Shape)}.");
    }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => Forward(input, relu: false);

    /// <summary><c>Ops.Relu(Forward(input))</c> in one op (<see cref="Ops.BatchNormRelu"/>): one pass over the tensor
    /// instead of two, the same bits forward and backward, the same update of the running statistics.</summary>
    /// <param name="input">The input [N, C, …].</param>
    /// <returns>relu of the normalised input.</returns>
    /// <exception cref="ShapeMismatchException">The input's rank or channel count does not fit.</exception>
    public Tensor ForwardRelu(Tensor input) => Forward(input, relu: true);

    private Tensor Forward(Tensor input, bool relu)
    {
        ArgumentNullException.ThrowIfNull(input);
        CheckRank(input);
        if (input.Shape[1] != NumFeatures)
            throw new ShapeMismatchException($"{GetType().Name}({NumFeatures}): input {Tensor.ShapeString(input.Shape)} has {input.Shape[1]} channels on axis 1, expected {NumFeatures}.");
        float momentum = Momentum ?? 0f;
        if (Training && NumBatchesTracked is not null)
        {
            float count = NumBatchesTracked.Data[0] + 1f;
            if (Momentum is null) momentum = 1f / count;
            // Validate before counting the batch, so a rejected input leaves the state unchanged.
            if ((long)input.Shape[0] * ShapeUtil.Product(input.Shape, 2, input.Rank) > 1) NumBatchesTracked.Data[0] = count;
        }
        return Ops.BatchNormCore(input, Weight, Bias, RunningMean, RunningVar, Training, momentum, Eps, relu);
    }
}

/// <summary>Batch normalisation for [N, C] or [N, C, L] inputs (torch.nn.BatchNorm1d).</summary>
/// <param name="numFeatures">Number of channels C.</param>
/// <param name="eps">Added to the variance.</param>
/// <param name="momentum">Weight of each batch in the running statistics; null for a cumulative average.</param>
/// <param name="affine">Learn a per-channel scale and shift.</param>
/// <param name="trackRunningStats">Keep running statistics.</param>
public sealed class BatchNorm1d(int numFeatures, float eps = 1e-5f, float? momentum = 0.1f, bool affine = true, bool trackRunningStats = true)
    : BatchNorm(numFeatures, eps, momentum, affine, trackRunningStats)
{
    /// <inheritdoc />
    protected override void CheckRank(Tensor input)
    {
        if (input.Rank is not (2 or 3)) throw new ShapeMismatchException($"BatchNorm1d: expected a 2-D [N, C] or 3-D [N, C, L] input, got {Tensor.ShapeString(input.Shape)}.");
    }
}

/// <summary>Batch normalisation for [N, C, H, W] inputs (torch.nn.BatchNorm2d).</summary>
/// <param name="numFeatures">Number of channels C.</param>
/// <param name="eps">Added to the variance.</param>
/// <param name="momentum">Weight of each batch in the running statistics; null for a cumulative average.</param>
/// <param name="affine">Learn a per-channel scale and shift.</param>
/// <param name="trackRunningStats">Keep running statistics.</param>
public sealed class BatchNorm2d(int numFeatures, float eps = 1e-5f, float? momentum = 0.1f, bool affine = true, bool trackRunningStats = true)
    : BatchNorm(numFeatures, eps, momentum, affine, trackRunningStats)
{
    /// <inheritdoc />
    protected override void CheckRank(Tensor input)
    {
        if (input.Rank != 4) throw new ShapeMismatchException($"BatchNorm2d: expected a 4-D [N, C, H, W] input, got {Tensor.ShapeString(input.Shape)}.");
    }
}

/// <summary>Batch normalisation for [N, C, D, H, W] inputs (torch.nn.BatchNorm3d).</summary>
/// <param name="numFeatures">Number of channels C.</param>
/// <param name="eps">Added to the variance.</param>
/// <param name="momentum">Weight of each batch in the running statistics; null for a cumulative average.</param>
/// <param name="affine">Learn a per-channel scale and shift.</param>
/// <param name="trackRunningStats">Keep running statistics.</param>
public sealed class BatchNorm3d(int numFeatures, float eps = 1e-5f, float? momentum = 0.1f, bool affine = true, bool trackRunningStats = true)
    : BatchNorm(numFeatures, eps, momentum, affine, trackRunningStats)
{
    /// <inheritdoc />
    protected override void CheckRank(Tensor input)
    {
        if (input.Rank != 5) throw new ShapeMismatchException($"BatchNorm3d: expected a 5-D [N, C, D, H, W] input, got {Tensor.ShapeString(input.Shape)}.");
    }
}
