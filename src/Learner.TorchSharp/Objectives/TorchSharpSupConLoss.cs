using Learner.Objectives;
using Learner.Objectives.Options;
using Learner.Objectives.Reducers;
using static TorchSharp.torch;
using TTensor = TorchSharp.torch.Tensor;

namespace Learner.TorchSharp.Objectives;

/// <summary>Supervised contrastive loss over coarse labels (<see cref="SupConLoss"/>, L^sup_out) on a libtorch device;
/// with a second view, both views of every scan are anchors and candidates.</summary>
public sealed class TorchSharpSupConLoss : TorchSharpObjective<SupConOptions>
{
    /// <summary>Creates the objective.</summary>
    /// <param name="options">Options (validated); null for the defaults.</param>
    /// <param name="device">The device, or null for CUDA when available, else the CPU.</param>
    /// <param name="reducer">A reducer over the per-anchor terms (the managed <see cref="SupConLoss"/>'s, in the same order), or
    /// null for the mean. The mean and the sum stay one device expression; any other reducer costs one copy of the terms
    /// to the host and one of the weights back.</param>
    public TorchSharpSupConLoss(SupConOptions? options = null, Device? device = null, ReducerBase? reducer = null) : base("supcon", options, device)
        => Reducer = reducer ?? MeanReducer.Instance;

    /// <summary>The reducer over the per-anchor terms (the mean unless one was passed).</summary>
    public ReducerBase Reducer { get; }

    /// <inheritdoc />
    public override BatchFields Requires => BatchFields.Labels;

    /// <inheritdoc />
    public override BatchFields Reads => BatchFields.Labels | BatchFields.SecondView;

    /// <inheritdoc />
    protected override string? SecondViewReader => "SupCon";

    /// <inheritdoc />
    protected override TTensor LossCore(TTensor z, TTensor? second, in EmbeddingBatch meta, IReadOnlyList<TTensor> parameters, out int active)
    {
        var labels = BatchContract.Labels(meta, "SupCon");
        int b = meta.Count, n = second is null ? b : 2 * b;
        var all = new int[n];
        labels.CopyTo(all);
        if (n > b) labels.CopyTo(all.AsSpan(b));
        // Positives per row (same label, not itself), counted on the host.
        var groups = DeviceOps.GroupSizes(all);
        var positives = new float[n];
        int valid = 0;
        for (int i = 0; i < n; i++) { positives[i] = groups[i] - 1; if (positives[i] > 0) valid++; }
        active = valid;
        if (valid == 0) return DeviceOps.ZeroLoss(z, second);
        ReportMining(new MiningStatistics { Anchors = valid });
        var rows = DeviceOps.Similarity(z, Options.Similarity);
        if (second is not null) rows = cat(new[] { rows, DeviceOps.Similarity(second, Options.Similarity) }, 0);
        var logits = rows.mm(rows.t()).Times(1f / Options.Temperature);
        using var self = eye(n, n, ScalarType.Bool, Device);
        var lse = logits.masked_fill(self, DeviceScalars.NegativeInfinity).logsumexp(1);
        var lab = UploadIndex(all);
        var positiveMask = lab.unsqueeze(1).eq(lab.unsqueeze(0)).logical_and(self.logical_not()).to_type(ScalarType.Float32);
        var counts = tensor(positives, new long[] { n }).to(Device);
        var hasPositives = counts.gt(DeviceScalars.ZeroF);
        var targetDot = (logits * positiveMask).sum(1) / counts.clamp_min(DeviceScalars.OneF);
        if (!DeviceReduction.Fused(Reducer)) return DeviceReduction.Anchors(Reducer, lse - targetDot, hasPositives, TermKind.Anchor);
        var weights = hasPositives.to_type(ScalarType.Float32).Times(Reducer is SumReducer ? 1.0 : 1.0 / valid);
        return (weights * (lse - targetDot)).sum();
    }
}
