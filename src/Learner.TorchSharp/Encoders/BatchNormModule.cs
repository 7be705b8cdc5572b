using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Learner.TorchSharp.Encoders;

/// <summary>
/// Batch normalisation over 1-, 2- or 3-D inputs with TorchSharp's parameters, buffers, names and arithmetic, but
/// without the temporary scalar of TorchSharp's own <c>BatchNorm.forward</c>: that method counts a training batch with
/// <c>num_batches_tracked.add_(1)</c>, whose <c>1</c> (value and alpha) becomes a <see cref="Scalar"/> that nothing keeps
/// alive through the native call, so a collection on another thread can finalise it mid-call and libtorch reads a freed
/// scalar — seen as "For integral input tensors, argument alpha must not be a floating point number" in about one of 16
/// pretraining-benchmark runs (docs/torchsharp.md; <see cref="DeviceScalars"/> explains the rule for the device code).
/// Here the count uses <see cref="DeviceScalars.One"/>, alive for the process.
/// </summary>
/// <remarks>The state-dict entries (<c>weight</c>, <c>bias</c>, <c>running_mean</c>, <c>running_var</c>,
/// <c>num_batches_tracked</c>) are those of <c>nn.BatchNorm1d/2d/3d</c>, so checkpoints and the weight transfer are
/// unchanged; a test compares outputs, gradients and running statistics with TorchSharp's module bit for bit.</remarks>
internal sealed class BatchNormModule : global::TorchSharp.Modules.BatchNorm
{
    private readonly int _spatialDims;

    /// <summary>Batch norm over <paramref name="features"/> channels of inputs with <paramref name="spatialDims"/>
    /// spatial axes (0 or 1 for <c>BatchNorm1d</c>'s [N, C] and [N, C, L], 2 for images, 3 for volumes); ε = 10⁻⁵,
    /// momentum 0.1, affine, with running statistics — TorchSharp's defaults.</summary>
    public BatchNormModule(long features, int spatialDims)
        : base(features, 1e-5, 0.1, true, true, null, null, spatialDims switch { 2 => "BatchNorm2d", 3 => "BatchNorm3d", _ => "BatchNorm1d" })
    {
        if (spatialDims is < 1 or > 3) throw new ArgumentOutOfRangeException(nameof(spatialDims), spatialDims, "Batch norm takes 1 (for [N, C] or [N, C, L]), 2 or 3 spatial axes.");
        _spatialDims = spatialDims;
    }

    /// <inheritdoc/>
    protected override void ValidateInputDimensions(Tensor input)
    {
        bool ok = _spatialDims == 1 ? input.ndim is 2 or 3 : input.ndim == _spatialDims + 2;
        if (!ok)
            throw new ArgumentException(_spatialDims == 1
                ? $"BatchNorm1d expects a 2-D or 3-D input, got {input.ndim}-D ({string.Join("×", input.shape)})."
                : $"BatchNorm{_spatialDims}d expects a {_spatialDims + 2}-D input, got {input.ndim}-D ({string.Join("×", input.shape)}).", nameof(input));
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        ValidateInputDimensions(input);
        // TorchSharp's arithmetic: momentum 0 means a cumulative average over the batches counted so far.
        double? factor = momentum;
        if (training && track_running_stats && num_batches_tracked is { } counted)
        {
            counted.add_(DeviceScalars.One, DeviceScalars.One);
            if (momentum == 0)
            {
                // Read through a host copy: ToDouble and item would go through a temporary scalar again.
                using var host = counted.cpu();
                factor = 1.0 / host.data<long>()[0];
            }
        }
        bool useBatchStats = training || (running_mean is null && running_var is null);
        bool passStats = !training || track_running_stats;
        return F.batch_norm(input, passStats ? running_mean : null, passStats ? running_var : null, weight, bias, useBatchStats, factor ?? 0.1, eps);
    }
}
