using Learner.Objectives.Kernels;
using Learner.Objectives.Options;

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

    /// <summary>Creates the objective.</summary>
    /// <param name="options">Options (validated); null for the defaults.</param>
    public InfoNceLoss(InfoNceOptions? options = null) : base("infonce", options) { }

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
        switch (Options.Variant)
        {
            case InfoNceVariant.NtXent:
                (loss, active) = _kernel.Run(new PartnerTargets(b, 1f / (2 * b)), z, 2 * b, z, 2 * b, d, self: true, invTau, gz, gz);
                break;
            case InfoNceVariant.Symmetric:
            {
                var u = z.Slice(0, b * d); var v = z.Slice(b * d);
                var gu = wantGrad ? gz.Slice(0, b * d) : Memory<float>.Empty;
                var gv = wantGrad ? gz.Slice(b * d) : Memory<float>.Empty;
                var (l1, a1) = _kernel.Run(new PartnerTargets(0, 0.5f / b), u, b, v, b, d, self: false, invTau, gu, gv);
                var (l2, _) = _kernel.Run(new PartnerTargets(0, 0.5f / b), v, b, u, b, d, self: false, invTau, gv, gu);
                (loss, active) = (l1 + l2, a1);
                break;
            }
            default:
            {
                var u = z.Slice(0, b * d); var v = z.Slice(b * d);
                (loss, active) = _kernel.Run(new PartnerTargets(0, 1f / b), u, b, v, b, d, self: false, invTau,
                    wantGrad ? gz.Slice(0, b * d) : Memory<float>.Empty, wantGrad ? gz.Slice(b * d) : Memory<float>.Empty);
                break;
            }
        }
        if (!gradEmbeddings.IsEmpty) _inputs.Backward(0, b, gradEmbeddings);
        if (!gradSecondView.IsEmpty) _inputs.Backward(b, b, gradSecondView);
        ReportMining(new MiningStatistics { Anchors = active });
        return (loss, active);
    }
}
