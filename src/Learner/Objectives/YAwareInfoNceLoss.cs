using Learner.Objectives.Kernels;
using Learner.Objectives.Options;
using Learner.Objectives.Reducers;

namespace Learner.Objectives;

/// <summary>
/// y-aware InfoNCE for continuous scores: each candidate is a soft positive weighted by a Gaussian kernel of the score
/// difference, L = −(1/N) Σ_i Σ_{k≠i} w_ik log[ exp(s_ik/τ) / Σ_{j≠i} exp(s_ij/τ) ] with
/// w_ik = K(y_i − y_k) / Σ_{j≠i} K(y_i − y_j), K(δ) = exp(−δ²/(2σ²)). With a second view, N = 2B rows.
/// Reference: Dufumier et al. 2021, "Contrastive Learning with Continuous Proxy Meta-Data for 3D MRI Classification"
/// (MICCAI 2021, arXiv 2106.08808).
/// </summary>
public sealed class YAwareInfoNceLoss : ObjectiveBase<YAwareOptions>
{
    private readonly SimilarityInputs _inputs = new();
    private readonly SoftmaxContrastKernel _kernel = new();
    private readonly Workspace<float> _scores = new();
    private readonly AnchorReduction _reduction = new();

    /// <summary>Creates the objective.</summary>
    /// <param name="options">Options (validated); null for the defaults.</param>
    public YAwareInfoNceLoss(YAwareOptions? options = null) : this(options, null) { }

    /// <summary>Creates the objective with a reducer over its per-anchor terms (each of kind <see cref="TermKind.Anchor"/>,
    /// in row order), which replaces the mean; null for the mean.</summary>
    /// <param name="options">Options (validated); null for the defaults.</param>
    /// <param name="reducer">The reducer, or null. The mean and the sum run in the fused pass; any other reducer costs one
    /// forward pass more.</param>
    public YAwareInfoNceLoss(YAwareOptions? options, ReducerBase? reducer) : base("y-aware", options) => Reducer = reducer ?? MeanReducer.Instance;

    /// <summary>The reducer over the per-anchor terms (the mean unless one was passed).</summary>
    public ReducerBase Reducer { get; }

    /// <inheritdoc />
    public override BatchFields Requires => BatchFields.Scores;

    /// <inheritdoc />
    public override BatchFields Reads => BatchFields.Scores | BatchFields.SecondView;

    /// <inheritdoc />
    protected override (double Loss, int Active) ComputeCore(in EmbeddingBatch batch, Span<float> gradEmbeddings, Span<float> gradSecondView)
    {
        int b = batch.Count, d = batch.Dimension;
        var scores = BatchContract.Scores(batch, "y-aware InfoNCE");
        var second = BatchContract.SecondView(batch, "y-aware InfoNCE", required: false);
        bool wantGrad = !gradEmbeddings.IsEmpty || !gradSecondView.IsEmpty;
        _inputs.Load(batch.Embeddings, second, b, d, Options.Similarity, wantGrad);
        int n = _inputs.Rows;
        if (n < 2)
        {
            gradEmbeddings.Clear(); gradSecondView.Clear();
            return (0, 0);
        }
        var all = _scores.Get(n);
        scores.CopyTo(all);
        if (n > b) scores.CopyTo(all.Slice(b));
        var z = _inputs.Z;
        var gz = wantGrad ? _inputs.GradZ : Memory<float>.Empty;
        float invTau = 1f / Options.Temperature;
        double loss; int active;
        if (AnchorReduction.Fused(Reducer))
            (loss, active) = _kernel.Run(new KernelTargets(_scores.Array, n, Options.Sigma, AnchorReduction.Factor(Reducer, n)), z, n, z, n, d, self: true, invTau, gz, gz);
        else
        {
            var targets = new KernelTargets(_scores.Array, n, Options.Sigma, 1f);
            _reduction.Begin(n);
            active = _reduction.Forward(_kernel, targets, 0, z, n, z, n, d, self: true, invTau);
            loss = _reduction.Weigh(Reducer, TermKind.Anchor);
            if (wantGrad) _reduction.Backward(_kernel, targets, 0, z, n, z, n, d, self: true, invTau, gz, gz);
        }
        if (!gradEmbeddings.IsEmpty) _inputs.Backward(0, b, gradEmbeddings);
        if (!gradSecondView.IsEmpty) _inputs.Backward(b, b, gradSecondView);
        ReportMining(new MiningStatistics { Anchors = active });
        return (loss, active);
    }
}
