using Learner.Objectives.Kernels;
using Learner.Objectives.Options;
using Learner.Objectives.Reducers;

namespace Learner.Objectives;

/// <summary>
/// InfoNCE / NT-Xent on two views u, v of the same B scans. Cross-view:
/// L = −(1/B) Σ_i log[ exp(s(u_i,v_i)/τ) / Σ_k exp(s(u_i,v_k)/τ) ]; symmetric: the mean of both directions;
/// NT-Xent: the same over the 2B views with every other view as a candidate.
/// References: van den Oord et al. 2018 (arXiv 1807.03748); Chen et al. 2020, SimCLR (arXiv 2002.05709).
/// </summary>
public sealed class InfoNceLoss : ObjectiveBase<InfoNceOptions>
{
    private readonly SimilarityInputs _inputs = new();
    private readonly SoftmaxContrastKernel _kernel = new();
    private readonly AnchorReduction _reduction = new();

    /// <summary>Creates the objective.</summary>
    /// <param name="options">Options (validated); null for the defaults.</param>
    public InfoNceLoss(InfoNceOptions? options = null) : this(options, null) { }

    /// <summary>Creates the objective with a reducer over its per-anchor terms (each of kind <see cref="TermKind.Anchor"/>,
    /// in row order: cross-view the B anchors u_i, symmetric the u → v anchors then the v → u anchors, NT-Xent the 2B
    /// views), which replaces the mean; null for the mean.</summary>
    /// <param name="options">Options (validated); null for the defaults.</param>
    /// <param name="reducer">The reducer, or null. The mean and the sum run in the fused pass; any other reducer costs one
    /// forward pass more.</param>
    public InfoNceLoss(InfoNceOptions? options, ReducerBase? reducer) : base("infonce", options) => Reducer = reducer ?? MeanReducer.Instance;

    /// <summary>The reducer over the per-anchor terms (the mean unless one was passed).</summary>
    public ReducerBase Reducer { get; }

    /// <inheritdoc />
    public override BatchFields Requires => BatchFields.SecondView;

    /// <inheritdoc />
    protected override (double Loss, int Active) ComputeCore(in EmbeddingBatch batch, Span<float> gradEmbeddings, Span<float> gradSecondView)
    {
        int b = batch.Count, d = batch.Dimension;
        var second = BatchContract.SecondView(batch, "InfoNCE", required: true);
        bool wantGrad = !gradEmbeddings.IsEmpty || !gradSecondView.IsEmpty;
        _inputs.Load(batch.Embeddings, second, b, d, Options.Similarity, wantGrad);
        float invTau = 1f / Options.Temperature;
        var z = _inputs.Z;
        var gz = wantGrad ? _inputs.GradZ : Memory<float>.Empty;
        double loss; int active;
        if (!AnchorReduction.Fused(Reducer))
            (loss, active) = TermPath(z, gz, b, d, invTau, wantGrad);
        else switch (Options.Variant)
        {
            case InfoNceVariant.NtXent:
                (loss, active) = _kernel.Run(new PartnerTargets(b, AnchorReduction.Factor(Reducer, 2 * b)), z, 2 * b, z, 2 * b, d, self: true, invTau, gz, gz);
                break;
            case InfoNceVariant.Symmetric:
            {
                var u = z.Slice(0, b * d); var v = z.Slice(b * d);
                var gu = wantGrad ? gz.Slice(0, b * d) : Memory<float>.Empty;
                var gv = wantGrad ? gz.Slice(b * d) : Memory<float>.Empty;
                float w = AnchorReduction.Factor(Reducer, 2L * b);
                var (l1, a1) = _kernel.Run(new PartnerTargets(0, w), u, b, v, b, d, self: false, invTau, gu, gv);
                var (l2, _) = _kernel.Run(new PartnerTargets(0, w), v, b, u, b, d, self: false, invTau, gv, gu);
                (loss, active) = (l1 + l2, a1);
                break;
            }
            default:
            {
                var u = z.Slice(0, b * d); var v = z.Slice(b * d);
                (loss, active) = _kernel.Run(new PartnerTargets(0, AnchorReduction.Factor(Reducer, b)), u, b, v, b, d, self: false, invTau,
                    wantGrad ? gz.Slice(0, b * d) : Memory<float>.Empty, wantGrad ? gz.Slice(b * d) : Memory<float>.Empty);
                break;
            }
        }
        if (!gradEmbeddings.IsEmpty) _inputs.Backward(0, b, gradEmbeddings);
        if (!gradSecondView.IsEmpty) _inputs.Backward(b, b, gradSecondView);
        ReportMining(new MiningStatistics { Anchors = active });
        return (loss, active);
    }

    /// <summary>A reducer other than the mean or the sum: every direction's terms (one forward pass each), the reducer's
    /// weights over all of them, then the fused passes with each anchor's weight.</summary>
    private (double Loss, int Active) TermPath(ReadOnlyMemory<float> z, Memory<float> gz, int b, int d, float invTau, bool wantGrad)
    {
        var unit = new PartnerTargets(Options.Variant == InfoNceVariant.NtXent ? b : 0, 1f);
        if (Options.Variant == InfoNceVariant.NtXent)
        {
            _reduction.Begin(2 * b);
            int all = _reduction.Forward(_kernel, unit, 0, z, 2 * b, z, 2 * b, d, self: true, invTau);
            double reduced = _reduction.Weigh(Reducer, TermKind.Anchor);
            if (wantGrad) _reduction.Backward(_kernel, unit, 0, z, 2 * b, z, 2 * b, d, self: true, invTau, gz, gz);
            return (reduced, all);
        }
        var u = z.Slice(0, b * d); var v = z.Slice(b * d);
        var gu = wantGrad ? gz.Slice(0, b * d) : Memory<float>.Empty;
        var gv = wantGrad ? gz.Slice(b * d) : Memory<float>.Empty;
        bool symmetric = Options.Variant == InfoNceVariant.Symmetric;
        _reduction.Begin(symmetric ? 2 * b : b);
        int active = _reduction.Forward(_kernel, unit, 0, u, b, v, b, d, self: false, invTau);
        if (symmetric) _reduction.Forward(_kernel, unit, b, v, b, u, b, d, self: false, invTau);
        double loss = _reduction.Weigh(Reducer, TermKind.Anchor);
        if (wantGrad)
        {
            _reduction.Backward(_kernel, unit, 0, u, b, v, b, d, self: false, invTau, gu, gv);
            if (symmetric) _reduction.Backward(_kernel, unit, b, v, b, u, b, d, self: false, invTau, gv, gu);
        }
        return (loss, active);
    }
}
