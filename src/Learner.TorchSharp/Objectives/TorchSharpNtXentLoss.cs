using Learner.Objectives;
using Learner.Objectives.Options;
using Learner.Objectives.Reducers;
using static TorchSharp.torch;
using TTensor = TorchSharp.torch.Tensor;

namespace Learner.TorchSharp.Objectives;

/// <summary>NT-Xent with labels (<see cref="NtXentLoss"/>, pytorch-metric-learning's form) on a libtorch device: one term
/// per ordered positive pair, softplus(LSE over the anchor's negatives − x_ap), averaged over the positive pairs; a
/// second view adds rows (labels repeated).</summary>
public sealed class TorchSharpNtXentLoss : TorchSharpObjective<NtXentOptions>
{
    /// <summary>Creates the objective.</summary>
    /// <param name="options">Options (validated); null for the defaults.</param>
    /// <param name="device">The device, or null for CUDA when available, else the CPU.</param>
    /// <param name="reducer">A reducer over the per-positive-pair terms (the managed <see cref="NtXentLoss"/>'s, in the same order), or
    /// null for the mean. The mean and the sum stay one device expression; any other reducer costs one copy of the terms
    /// to the host and one of the weights back.</param>
    public TorchSharpNtXentLoss(NtXentOptions? options = null, Device? device = null, ReducerBase? reducer = null) : base("ntxent", options, device)
        => Reducer = reducer ?? MeanReducer.Instance;

    /// <summary>The reducer over the per-positive-pair terms (the mean unless one was passed).</summary>
    public ReducerBase Reducer { get; }

    /// <inheritdoc />
    public override BatchFields Requires => BatchFields.Labels;

    /// <inheritdoc />
    public override BatchFields Reads => BatchFields.Labels | BatchFields.SecondView;

    /// <inheritdoc />
    protected override string? SecondViewReader => "NT-Xent";

    /// <inheritdoc />
    protected override TTensor LossCore(TTensor z, TTensor? second, in EmbeddingBatch meta, IReadOnlyList<TTensor> parameters, out int active)
    {
        int b = meta.Count, n = second is null ? b : 2 * b;
        var all = new int[n];
        BatchContract.Labels(meta, "NT-Xent").CopyTo(all);
        if (n > b) all.AsSpan(0, b).CopyTo(all.AsSpan(b));
        var groups = DeviceOps.GroupSizes(all);
        long positivePairs = 0;
        active = 0;
        for (int i = 0; i < n; i++) { positivePairs += groups[i] - 1; if (groups[i] > 1) active++; }
        // Without positives, or with one class (no anchor has a negative: every term is 0), the loss is 0.
        if (positivePairs == 0) return DeviceOps.ZeroLoss(z, second);
        ReportMining(new MiningStatistics { Pairs = positivePairs, PositivePairs = positivePairs, Anchors = active });
        if (groups[0] == n) return DeviceOps.ZeroLoss(z, second);
        var rows = DeviceOps.Similarity(z, Options.Similarity);
        if (second is not null) rows = cat(new[] { rows, DeviceOps.Similarity(second, Options.Similarity) }, 0);
        var logits = rows.mm(rows.t()).Times(1f / Options.Temperature);
        var lab = UploadIndex(all);
        var same = lab.unsqueeze(1).eq(lab.unsqueeze(0));
        using var self = eye(n, n, ScalarType.Bool, Device);
        var positive = same.logical_and(self.logical_not());
        // LSE over each anchor's negatives (every anchor has some: the batch has two classes or more).
        var lse = logits.masked_fill(same, DeviceScalars.NegativeInfinity).logsumexp(1).unsqueeze(1);
        var z2 = lse - logits;
        var softplus = z2.clamp_min(DeviceScalars.ZeroF).Plus(z2.abs().neg().exp().log1p());
        // One term per ordered positive pair, row-major: by anchor, then by positive (the managed order).
        if (!DeviceReduction.Fused(Reducer)) return DeviceReduction.Anchors(Reducer, softplus, positive, TermKind.PositivePair);
        var terms = softplus.masked_fill(positive.logical_not(), DeviceScalars.ZeroF);
        return terms.sum().Times(Reducer is SumReducer ? 1.0 : 1.0 / positivePairs);
    }
}
