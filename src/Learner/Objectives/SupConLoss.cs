using Learner.Objectives.Kernels;
using Learner.Objectives.Options;
using Learner.Objectives.Reducers;

namespace Learner.Objectives;

/// <summary>
/// Supervised contrastive loss over coarse labels: for each anchor i with positives P(i) = {p ≠ i : y_p = y_i},
/// L_i = −(1/|P(i)|) Σ_{p∈P(i)} log[ exp(s_ip/τ) / Σ_{k≠i} exp(s_ik/τ) ], averaged over anchors with |P(i)| &gt; 0.
/// With a second view, both views of every scan are anchors and candidates.
/// Reference: Khosla et al. 2020, "Supervised Contrastive Learning" (arXiv 2004.11362), L^sup_out.
/// </summary>
public sealed class SupConLoss : ObjectiveBase<SupConOptions>
{
    private readonly SimilarityInputs _inputs = new();
    private readonly SoftmaxContrastKernel _kernel = new();
    private readonly Workspace<int> _labels = new(), _keys = new(), _members = new(), _start = new(), _end = new();
    private readonly AnchorReduction _reduction = new();

    /// <summary>Creates the objective.</summary>
    /// <param name="options">Options (validated); null for the defaults.</param>
    public SupConLoss(SupConOptions? options = null) : this(options, null) { }

    /// <summary>Creates the objective with a reducer over its per-anchor terms L_i (each of kind
    /// <see cref="TermKind.Anchor"/>, the anchors with positives in row order), which replaces the mean; null for the mean.</summary>
    /// <param name="options">Options (validated); null for the defaults.</param>
    /// <param name="reducer">The reducer, or null. The mean and the sum run in the fused pass; any other reducer costs one
    /// forward pass more (the terms, then its weights, then the fused pass with each anchor's weight).</param>
    public SupConLoss(SupConOptions? options, ReducerBase? reducer) : base("supcon", options) => Reducer = reducer ?? MeanReducer.Instance;

    /// <summary>The reducer over the per-anchor terms (the mean unless one was passed).</summary>
    public ReducerBase Reducer { get; }

    /// <inheritdoc />
    public override BatchFields Requires => BatchFields.Labels;

    /// <inheritdoc />
    public override BatchFields Reads => BatchFields.Labels | BatchFields.SecondView;

    /// <inheritdoc />
    protected override (double Loss, int Active) ComputeCore(in EmbeddingBatch batch, Span<float> gradEmbeddings, Span<float> gradSecondView)
    {
        int b = batch.Count, d = batch.Dimension;
        var labels = BatchContract.Labels(batch, "SupCon");
        var second = BatchContract.SecondView(batch, "SupCon", required: false);
        bool wantGrad = !gradEmbeddings.IsEmpty || !gradSecondView.IsEmpty;
        _inputs.Load(batch.Embeddings, second, b, d, Options.Similarity, wantGrad);
        int n = _inputs.Rows;
        var all = _labels.Get(n);
        labels.CopyTo(all);
        if (n > b) labels.CopyTo(all.Slice(b));
        int valid = LabelTargets.Build(all, n, _keys, _members, _start, _end);
        if (valid == 0)
        {
            gradEmbeddings.Clear(); gradSecondView.Clear();
            return (0, 0);
        }
        var z = _inputs.Z;
        var gz = wantGrad ? _inputs.GradZ : Memory<float>.Empty;
        float invTau = 1f / Options.Temperature;
        double loss; int active;
        if (AnchorReduction.Fused(Reducer))
            (loss, active) = _kernel.Run(new LabelTargets(_members.Array, _start.Array, _end.Array, AnchorReduction.Factor(Reducer, valid)), z, n, z, n, d, self: true, invTau, gz, gz);
        else
        {
            var targets = new LabelTargets(_members.Array, _start.Array, _end.Array, 1f);
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
