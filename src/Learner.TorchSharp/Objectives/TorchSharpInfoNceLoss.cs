using Learner.Objectives;
using Learner.Objectives.Options;
using Learner.Objectives.Reducers;
using static TorchSharp.torch;
using TTensor = TorchSharp.torch.Tensor;

namespace Learner.TorchSharp.Objectives;

/// <summary>InfoNCE / NT-Xent (<see cref="InfoNceLoss"/>) on a libtorch device: cross-view, symmetric or NT-Xent over
/// the 2B views, with cosine or dot-product similarity.</summary>
public sealed class TorchSharpInfoNceLoss : TorchSharpObjective<InfoNceOptions>
{
    /// <summary>Creates the objective.</summary>
    /// <param name="options">Options (validated); null for the defaults.</param>
    /// <param name="device">The device, or null for CUDA when available, else the CPU.</param>
    /// <param name="reducer">A reducer over the per-anchor terms (the managed <see cref="InfoNceLoss"/>'s, in the same order), or
    /// null for the mean. The mean and the sum stay one device expression; any other reducer costs one copy of the terms
    /// to the host and one of the weights back.</param>
    public TorchSharpInfoNceLoss(InfoNceOptions? options = null, Device? device = null, ReducerBase? reducer = null) : base("infonce", options, device)
        => Reducer = reducer ?? MeanReducer.Instance;

    /// <summary>The reducer over the per-anchor terms (the mean unless one was passed).</summary>
    public ReducerBase Reducer { get; }

    /// <inheritdoc />
    public override BatchFields Requires => BatchFields.SecondView;

    /// <inheritdoc />
    protected override string? SecondViewReader => "InfoNCE";

    /// <inheritdoc />
    protected override TTensor LossCore(TTensor z, TTensor? second, in EmbeddingBatch meta, IReadOnlyList<TTensor> parameters, out int active)
    {
        if (second is null) BatchContract.SecondView(0, meta.Count, meta.Dimension, "InfoNCE", required: true);
        long b = meta.Count;
        float invTau = 1f / Options.Temperature;
        var u = DeviceOps.Similarity(z, Options.Similarity);
        var v = DeviceOps.Similarity(second!, Options.Similarity);
        switch (Options.Variant)
        {
            case InfoNceVariant.NtXent:
            {
                var all = cat(new[] { u, v }, 0);
                var logits = all.mm(all.t()).Times(invTau);
                using var self = eye(2 * b, 2 * b, ScalarType.Bool, Device);
                var lse = logits.masked_fill(self, DeviceScalars.NegativeInfinity).logsumexp(1);
                var partnerIndex = new long[2 * b];                                   // row i's other view: (i + b) mod 2b
                for (long i = 0; i < partnerIndex.Length; i++) partnerIndex[i] = (i + b) % (2 * b);
                var partner = tensor(partnerIndex, new long[] { 2 * b }).to(Device);
                var target = logits.gather(1, partner.unsqueeze(1)).squeeze(1);
                active = (int)(2 * b);
                ReportMining(new MiningStatistics { Anchors = active });
                return Reduce(lse - target, 2 * b);
            }
            case InfoNceVariant.Symmetric:
            {
                var logits = u.mm(v.t()).Times(invTau);
                var diag = logits.diagonal(0, 0, 1);
                // The u → v anchors, then the v → u anchors (the managed order).
                var terms = cat(new[] { logits.logsumexp(1) - diag, logits.logsumexp(0) - diag }, 0);
                active = (int)b;
                ReportMining(new MiningStatistics { Anchors = active });
                return Reduce(terms, 2 * b);
            }
            default:
            {
                var logits = u.mm(v.t()).Times(invTau);
                active = (int)b;
                ReportMining(new MiningStatistics { Anchors = active });
                return Reduce(logits.logsumexp(1) - logits.diagonal(0, 0, 1), b);
            }
        }
    }

    /// <summary>The reducer over the anchors' terms: the mean or the sum as one factor, any other by its weights.</summary>
    private TTensor Reduce(TTensor terms, long count)
        => DeviceReduction.Fused(Reducer) ? terms.sum().Times(Reducer is SumReducer ? 1.0 : 1.0 / count) : DeviceReduction.Anchors(Reducer, terms, null, TermKind.Anchor);
}
