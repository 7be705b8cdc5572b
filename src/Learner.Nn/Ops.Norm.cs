using Learner.Nn.Kernels;

namespace Learner.Nn;

public static partial class Ops
{
    /// <summary>Refuses an eps that is negative, NaN or infinite, naming <paramref name="op"/> and the value (the ops and
    /// the norm modules' constructors share it).</summary>
    internal static void CheckEps(float eps, string op)
    {
        if (!(eps >= 0f) || !float.IsFinite(eps)) throw new ArgumentOutOfRangeException(nameof(eps), eps, string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{op}: eps must be finite and ≥ 0, got {eps}."));
    }

    /// <summary>Refuses a running-statistics momentum outside [0, 1], naming <paramref name="op"/> and the value.</summary>
    internal static void CheckMomentum(float momentum, string op)
    {
        if (!(momentum >= 0f && momentum <= 1f)) throw new ArgumentOutOfRangeException(nameof(momentum), momentum, string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{op}: momentum must be in [0, 1], got {momentum}."));
    }

    private static void CheckChannelVector(Tensor? t, int channels, string what, string op, Tensor x)
    {
        if (t is null) return;
        if (t.Rank != 1 || t.Shape[0] != channels)
            throw new ShapeMismatchException($"{op}: {what} must have shape [{channels}] for input {Tensor.ShapeString(x.Shape)}, got {Tensor.ShapeString(t.Shape)}.");
    }

    /// <summary>Collects the non-null inputs of a normalisation for the graph, and their positions.</summary>
    private static Tensor[] NormInputs(Tensor x, Tensor? weight, Tensor? bias, out int weightIndex, out int biasIndex)
    {
        weightIndex = weight is null ? -1 : 1;
        biasIndex = bias is null ? -1 : (weight is null ? 1 : 2);
        return (weight, bias) switch
        {
            (null, null) => new[] { x },
            (not null, null) => new[] { x, weight },
            (null, not null) => new[] { x, bias },
            _ => new[] { x, weight!, bias! },
        };
    }

    /// <summary>
    /// Batch normalisation over the channel axis 1 of an input [N, C, …] of any rank ≥ 2 ([N, C], [N, C, L], [N, C, H, W],
    /// [N, C, D, H, W]): y = (x − μ)/√(σ² + eps)·weight + bias per channel. In training, μ and σ² are the batch mean and
    /// biased variance over N and the spatial axes, and the running statistics are updated in place with
    /// r ← (1 − momentum)·r + momentum·s, using the unbiased variance for <paramref name="runningVar"/> (as PyTorch does).
    /// In evaluation the running statistics are used and left unchanged. The backward is exact in both modes (in training
    /// the gradient flows through the batch statistics).
    /// </summary>
    /// <param name="x">Input [N, C, …].</param>
    /// <param name="weight">Per-channel scale [C], or null for 1.</param>
    /// <param name="bias">Per-channel shift [C], or null for 0.</param>
    /// <param name="runningMean">Running mean [C]; updated in place in training.</param>
    /// <param name="runningVar">Running (unbiased) variance [C]; updated in place in training.</param>
    /// <param name="training">Use batch statistics and update the running ones.</param>
    /// <param name="momentum">Weight of the current batch in the running statistics, in [0, 1].</param>
    /// <param name="eps">Added to the variance; finite and ≥ 0.</param>
    /// <returns>The normalised tensor, same shape as <paramref name="x"/>.</returns>
    /// <exception cref="ShapeMismatchException">Rank below 2, a parameter or statistic not of shape [C], or a single value
    /// per channel in training.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="momentum"/> or <paramref name="eps"/> out of range.</exception>
    public static Tensor BatchNorm(Tensor x, Tensor? weight, Tensor? bias, Tensor runningMean, Tensor runningVar, bool training, float momentum = 0.1f, float eps = 1e-5f)
    {
        ArgumentNullException.ThrowIfNull(runningMean);
        ArgumentNullException.ThrowIfNull(runningVar);
        return BatchNormCore(x, weight, bias, runningMean, runningVar, training, momentum, eps);
    }

    /// <summary>
    /// <c>Relu(BatchNorm(x, …))</c> in one op: the normalised values go through relu as they are written, so the forward
    /// makes one pass over the tensor instead of two and keeps one tensor instead of two; the backward masks the gradient
    /// with the output (where it is &gt; 0) before the batch norm's backward. Forward and gradients are the same bits as
    /// the two ops composed (the same operations on every element, in the same order): a ResNet block's
    /// convolution → batch norm → relu.
    /// </summary>
    /// <param name="x">Input [N, C, …].</param>
    /// <param name="weight">Per-channel scale [C], or null for 1.</param>
    /// <param name="bias">Per-channel shift [C], or null for 0.</param>
    /// <param name="runningMean">Running mean [C]; updated in place in training.</param>
    /// <param name="runningVar">Running (unbiased) variance [C]; updated in place in training.</param>
    /// <param name="training">Use batch statistics and update the running ones.</param>
    /// <param name="momentum">Weight of the current batch in the running statistics, in [0, 1].</param>
    /// <param name="eps">Added to the variance; finite and ≥ 0.</param>
    /// <returns>relu of the normalised tensor, same shape as <paramref name="x"/>.</returns>
    /// <exception cref="ShapeMismatchException">As <see cref="BatchNorm"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">As <see cref="BatchNorm"/>.</exception>
    public static Tensor BatchNormRelu(Tensor x, Tensor? weight, Tensor? bias, Tensor runningMean, Tensor runningVar, bool training, float momentum = 0.1f, float eps = 1e-5f)
    {
        ArgumentNullException.ThrowIfNull(runningMean);
        ArgumentNullException.ThrowIfNull(runningVar);
        return BatchNormCore(x, weight, bias, runningMean, runningVar, training, momentum, eps, relu: true);
    }

    /// <summary>Batch normalisation that may run without running statistics (then it always uses batch statistics),
    /// followed by relu in the same pass when <paramref name="relu"/>.</summary>
    internal static Tensor BatchNormCore(Tensor x, Tensor? weight, Tensor? bias, Tensor? runningMean, Tensor? runningVar, bool training, float momentum, float eps,
        bool relu = false)
    {
        ArgumentNullException.ThrowIfNull(x);
        const string Op = "BatchNorm";
        if (x.Rank < 2) throw new ShapeMismatchException($"{Op}: input must be [N, C, …] with rank ≥ 2, got {Tensor.ShapeString(x.Shape)}.");
        CheckEps(eps, Op);
        CheckMomentum(momentum, Op);
        if ((runningMean is null) != (runningVar is null)) throw new ArgumentException($"{Op}: give both running statistics or neither.");
        int n = x.Shape[0], c = x.Shape[1], inner = (int)ShapeUtil.Product(x.Shape, 2, x.Rank);
        CheckChannelVector(weight, c, "weight", Op, x);
        CheckChannelVector(bias, c, "bias", Op, x);
        CheckChannelVector(runningMean, c, "running mean", Op, x);
        CheckChannelVector(runningVar, c, "running variance", Op, x);
        bool useBatchStats = training || runningMean is null;
        long perChannel = (long)n * inner;
        if (useBatchStats && perChannel <= 1)
            throw new ShapeMismatchException($"{Op}: expected more than 1 value per channel when using batch statistics, got input {Tensor.ShapeString(x.Shape)}.");

        var o = Tensor.CreateOwned(x.ShapeArray, clear: false);
        var statsTensor = Tensor.CreateOwned(new[] { 3, c }, clear: false);
        var stats = new NormStats(statsTensor.Storage, c);
        if (useBatchStats)
        {
            var unbiased = System.Buffers.ArrayPool<float>.Shared.Rent(c);
            try
            {
                NormKernels.BatchNormForward(x.Storage, o.Storage, n, c, inner, true, eps, weight?.Storage, bias?.Storage, stats, unbiased, relu);
                if (training && runningMean is not null && runningVar is not null)
                {
                    var rm = runningMean.Data; var rv = runningVar.Data;
                    for (int ch = 0; ch < c; ch++)
                    {
                        rm[ch] = (float)((1.0 - momentum) * rm[ch] + momentum * stats.Mean(ch));
                        rv[ch] = (float)((1.0 - momentum) * rv[ch] + (double)momentum * unbiased[ch]);
                    }
                }
            }
            finally { System.Buffers.ArrayPool<float>.Shared.Return(unbiased); }
        }
        else
        {
            var rm = runningMean!.Data; var rv = runningVar!.Data;
            for (int ch = 0; ch < c; ch++) stats.Set(ch, rm[ch], 1.0 / Math.Sqrt((double)rv[ch] + eps));
            NormKernels.BatchNormForward(x.Storage, o.Storage, n, c, inner, false, eps, weight?.Storage, bias?.Storage, stats, Array.Empty<float>(), relu);
        }

        if (!relu)
            return RecordNorm(o, Op, x, weight, bias, clearAffineGradients: false, (g, gx, gw, gb) =>
                NormKernels.BatchNormBackward(g, x.Storage, n, c, inner, useBatchStats, weight?.Storage, stats, gx, gw, gb));
        return RecordNorm(o, "BatchNormRelu", x, weight, bias, clearAffineGradients: false, (g, gx, gw, gb) =>
        {
            // relu's backward from its output (> 0 exactly where the normalised value was), then the batch norm's; the
            // masked gradient comes from the tensor pool like every other activation's (ArrayPool.Shared keeps few
            // arrays of this size and would allocate a fresh one per step).
            var masked = Tensor.CreateOwned(x.ShapeArray, clear: false);
            VectorMap.MapParallel(new ReluBackward(), g, o.Storage, masked.Storage, x.Size);
            NormKernels.BatchNormBackward(masked.Storage, x.Storage, n, c, inner, useBatchStats, weight?.Storage, stats, gx, gw, gb);
        });
    }

    /// <summary>
    /// Layer normalisation over the trailing axes <paramref name="normalizedShape"/>: each sample is normalised by its own
    /// mean and biased variance over those axes, then scaled and shifted elementwise (as torch.nn.functional.layer_norm).
    /// </summary>
    /// <param name="x">Input […, *normalizedShape].</param>
    /// <param name="normalizedShape">The trailing shape to normalise over (at least one axis).</param>
    /// <param name="weight">Elementwise scale of shape <paramref name="normalizedShape"/>, or null for 1.</param>
    /// <param name="bias">Elementwise shift of shape <paramref name="normalizedShape"/>, or null for 0.</param>
    /// <param name="eps">Added to the variance; finite and ≥ 0.</param>
    /// <returns>The normalised tensor, same shape as <paramref name="x"/>.</returns>
    /// <exception cref="ShapeMismatchException"><paramref name="x"/> does not end in <paramref name="normalizedShape"/>, or a
    /// parameter does not have that shape.</exception>
    public static Tensor LayerNorm(Tensor x, int[] normalizedShape, Tensor? weight, Tensor? bias, float eps = 1e-5f)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(normalizedShape);
        const string Op = "LayerNorm";
        CheckEps(eps, Op);
        int k = normalizedShape.Length;
        bool ok = k >= 1 && k <= x.Rank;
        for (int i = 0; ok && i < k; i++) ok = x.Shape[x.Rank - k + i] == normalizedShape[i];
        if (!ok) throw new ShapeMismatchException($"{Op}: input {Tensor.ShapeString(x.Shape)} does not end in the normalized shape {Tensor.ShapeString(normalizedShape)}.");
        if (weight is not null && !ShapeUtil.SameShape(weight.Shape, normalizedShape))
            throw new ShapeMismatchException($"{Op}: weight must have the normalized shape {Tensor.ShapeString(normalizedShape)}, got {Tensor.ShapeString(weight.Shape)}.");
        if (bias is not null && !ShapeUtil.SameShape(bias.Shape, normalizedShape))
            throw new ShapeMismatchException($"{Op}: bias must have the normalized shape {Tensor.ShapeString(normalizedShape)}, got {Tensor.ShapeString(bias.Shape)}.");
        int d = (int)ShapeUtil.Product(normalizedShape);
        int rows = d == 0 ? 0 : x.Size / d;

        var o = Tensor.CreateOwned(x.ShapeArray, clear: false);
        var statsTensor = Tensor.CreateOwned(new[] { 3, rows }, clear: false);
        var stats = new NormStats(statsTensor.Storage, rows);
        NormKernels.LayerNormForward(x.Storage, o.Storage, rows, d, eps, weight?.Storage, bias?.Storage, stats);

        return RecordNorm(o, Op, x, weight, bias, clearAffineGradients: true, (g, gx, gw, gb) =>
            { if (rows > 0) NormKernels.LayerNormBackward(g, x.Storage, rows, d, weight?.Storage, stats, gx, gw, gb); });
    }

    /// <summary>
    /// Group normalisation: the C channels of an input [N, C, …] (rank ≥ 2) are split into <paramref name="groups"/>
    /// groups of consecutive channels; each (sample, group) is normalised by its own mean and biased variance, then
    /// scaled and shifted per channel (as torch.nn.functional.group_norm).
    /// </summary>
    /// <param name="x">Input [N, C, …].</param>
    /// <param name="groups">Number of groups; must divide C.</param>
    /// <param name="weight">Per-channel scale [C], or null for 1.</param>
    /// <param name="bias">Per-channel shift [C], or null for 0.</param>
    /// <param name="eps">Added to the variance; finite and ≥ 0.</param>
    /// <returns>The normalised tensor, same shape as <paramref name="x"/>.</returns>
    /// <exception cref="ShapeMismatchException">Rank below 2, C not divisible by <paramref name="groups"/>, or a parameter not [C].</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="groups"/> is not positive.</exception>
    public static Tensor GroupNorm(Tensor x, int groups, Tensor? weight, Tensor? bias, float eps = 1e-5f)
    {
        ArgumentNullException.ThrowIfNull(x);
        const string Op = "GroupNorm";
        CheckEps(eps, Op);
        if (x.Rank < 2) throw new ShapeMismatchException($"{Op}: input must be [N, C, …] with rank ≥ 2, got {Tensor.ShapeString(x.Shape)}.");
        if (groups <= 0) throw new ArgumentOutOfRangeException(nameof(groups), groups, $"{Op}: the number of groups must be positive, got {groups}.");
        int n = x.Shape[0], c = x.Shape[1], inner = (int)ShapeUtil.Product(x.Shape, 2, x.Rank);
        if (c % groups != 0) throw new ShapeMismatchException($"{Op}: {c} channels of input {Tensor.ShapeString(x.Shape)} cannot be split into {groups} groups.");
        CheckChannelVector(weight, c, "weight", Op, x);
        CheckChannelVector(bias, c, "bias", Op, x);

        var o = Tensor.CreateOwned(x.ShapeArray, clear: false);
        var statsTensor = Tensor.CreateOwned(new[] { 3, n * groups }, clear: false);
        var stats = new NormStats(statsTensor.Storage, n * groups);
        NormKernels.GroupNormForward(x.Storage, o.Storage, n, c, inner, groups, eps, weight?.Storage, bias?.Storage, stats);

        return RecordNorm(o, Op, x, weight, bias, clearAffineGradients: true, (g, gx, gw, gb) =>
            NormKernels.GroupNormBackward(g, x.Storage, n, c, inner, groups, weight?.Storage, stats, gx, gw, gb));
    }

    /// <summary>Scales slices along <paramref name="axis"/> to unit Euclidean norm: x / max(‖x‖₂, eps), as
    /// torch.nn.functional.normalize(x, p=2, dim=axis, eps=eps). Norms are accumulated in double, so inputs of any
    /// finite magnitude are safe. Where the norm is below eps the gradient is g/eps (the clamp is constant there).</summary>
    /// <param name="x">The input (rank ≥ 1).</param>
    /// <param name="axis">The axis along which to normalise; negative counts from the end.</param>
    /// <param name="eps">Lower bound of the divisor; finite and ≥ 0.</param>
    /// <returns>The normalised tensor, same shape.</returns>
    /// <exception cref="ShapeMismatchException"><paramref name="x"/> is a scalar or <paramref name="axis"/> is out of range.</exception>
    public static Tensor L2Normalize(Tensor x, int axis = -1, float eps = 1e-12f)
    {
        ArgumentNullException.ThrowIfNull(x);
        CheckEps(eps, "L2Normalize");
        var (_, outer, n, inner) = AxisLayout(x, axis, "L2Normalize");
        var o = Tensor.CreateOwned(x.ShapeArray, clear: false);
        var norms = Tensor.CreateOwned(new[] { outer * inner }, clear: false);
        NormKernels.L2NormalizeForward(x.Storage, o.Storage, outer, n, inner, eps, norms.Storage);
        if (!Autograd.ShouldRecord(x)) return o;
        return Autograd.Record(o, "L2Normalize", new[] { x }, g =>
        {
            var gi = Tensor.CreateOwned(x.ShapeArray, clear: false);
            NormKernels.L2NormalizeBackward(g.Storage, o.Storage, norms.Storage, gi.Storage, outer, n, inner, eps);
            return new[] { gi };
        });
    }

    /// <summary>A norm's backward kernel: from the output gradient, writes the input, weight and bias gradients it is given.</summary>
    private delegate void NormBackwardKernel(float[] g, float[]? gx, float[]? gw, float[]? gb);

    /// <summary>Records a normalisation's backward: allocates the gradients its inputs need and runs the kernel.</summary>
    private static Tensor RecordNorm(Tensor o, string op, Tensor x, Tensor? weight, Tensor? bias, bool clearAffineGradients, NormBackwardKernel kernel)
    {
        var inputs = NormInputs(x, weight, bias, out int wi, out int bi);
        if (!Autograd.ShouldRecord(inputs)) return o;
        return Autograd.Record(o, op, inputs, g =>
        {
            var grads = new Tensor?[inputs.Length];
            var gx = x.RequiresGrad ? Tensor.CreateOwned(x.ShapeArray, clear: false) : null;
            var gw = weight is { RequiresGrad: true } ? Tensor.CreateOwned(weight.ShapeArray, clearAffineGradients) : null;
            var gb = bias is { RequiresGrad: true } ? Tensor.CreateOwned(bias.ShapeArray, clearAffineGradients) : null;
            kernel(g.Storage, gx?.Storage, gw?.Storage, gb?.Storage);
            grads[0] = gx;
            if (wi >= 0) grads[wi] = gw;
            if (bi >= 0) grads[bi] = gb;
            return grads;
        });
    }
}

public partial class Tensor
{
    /// <summary>Scales slices along an axis to unit Euclidean norm (see <see cref="Ops.L2Normalize"/>).</summary>
    /// <param name="axis">The axis.</param>
    /// <param name="eps">Lower bound of the divisor.</param>
    /// <returns>The normalised tensor.</returns>
    public Tensor L2Normalize(int axis = -1, float eps = 1e-12f) => Ops.L2Normalize(this, axis, eps);
}
