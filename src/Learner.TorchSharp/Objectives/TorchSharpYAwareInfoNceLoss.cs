using Learner.Objectives;
using Learner.Objectives.Options;
using Learner.Objectives.Reducers;
using static TorchSharp.torch;
using TTensor = TorchSharp.torch.Tensor;

namespace Learner.TorchSharp.Objectives;

/// <summary>y-aware InfoNCE (<see cref="YAwareInfoNceLoss"/>) on a libtorch device: every candidate a soft positive
/// weighted by a Gaussian kernel of the score difference.</summary>
public sealed class TorchSharpYAwareInfoNceLoss : TorchSharpObjective<YAwareOptions>
{
    /// <summary>Creates the objective.</summary>
    /// <param name="options">Options (validated); null for the defaults.</param>
    /// <param name="device">The device, or null for CUDA when available, else the CPU.</param>
    /// <param name="reducer">A reducer over the per-anchor terms (the managed <see cref="YAwareInfoNceLoss"/>'s, in the same order), or
    /// null for the mean. The mean and the sum stay one device expression; any other reducer costs one copy of the terms
    /// to the host and one of the weights back.</param>
    public TorchSharpYAwareInfoNceLoss(YAwareOptions? options = null, Device? device = null, ReducerBase? reducer = null) : base("y-aware", options, device)
        => Reducer = reducer ?? MeanReducer.Instance;

    /// <summary>The reducer over the per-anchor terms (the mean unless one was passed).</summary>
    public ReducerBase Reducer { get; }

    /// <inheritdoc />
    public override BatchFields Requires => BatchFields.Scores;

    /// <inheritdoc />
    public override BatchFields Reads => BatchFields.Scores | BatchFields.SecondView;

    /// <inheritdoc />
    protected override string? SecondViewReader => "y-aware InfoNCE";

    /// <inheritdoc />
    protected override TTensor LossCore(TTensor z, TTensor? second, in EmbeddingBatch meta, IReadOnlyList<TTensor> parameters, out int active)
    {
        var scores = BatchContract.Scores(meta, "y-aware InfoNCE");
        int b = meta.Count, n = second is null ? b : 2 * b;
        if (n < 2) { active = 0; return DeviceOps.ZeroLoss(z, second); }
        var all = new float[n];
        scores.CopyTo(all);
        if (n > b) scores.CopyTo(all.AsSpan(b));
        var rows = DeviceOps.Similarity(z, Options.Similarity);
        if (second is not null) rows = cat(new[] { rows, DeviceOps.Similarity(second, Options.Similarity) }, 0);
        var logits = rows.mm(rows.t()).Times(1f / Options.Temperature);
        using var self = eye(n, n, ScalarType.Bool, Device);
        var lse = logits.masked_fill(self, DeviceScalars.NegativeInfinity).logsumexp(1);
        TTensor targets;
        using (no_grad())
        {
            var y = tensor(all, new long[] { n }).to(Device);
            var gap = y.unsqueeze(0) - y.unsqueeze(1);
            var k = (gap * gap).Times(-0.5f / (Options.Sigma * Options.Sigma)).masked_fill(self, DeviceScalars.NegativeInfinity);
            targets = (k - k.logsumexp(1, true)).exp();
        }
        active = n;
        ReportMining(new MiningStatistics { Anchors = n });
        var terms = lse - (logits * targets).sum(1);
        if (!DeviceReduction.Fused(Reducer)) return DeviceReduction.Anchors(Reducer, terms, null, TermKind.Anchor);
        return terms.sum().Times(Reducer is SumReducer ? 1.0 : 1.0 / n);
    }
}
