using Learner.Objectives.Kernels;
using Learner.Objectives.Options;
using Learner.Objectives.Reducers;

namespace Learner.Objectives;

/// <summary>
/// NT-Xent with labels, as pytorch-metric-learning's <c>NTXentLoss</c> defines it: one term per ordered positive pair
/// (a, p) (p ≠ a, y_p = y_a), ℓ_ap = −log[ exp(s_ap/τ) / (exp(s_ap/τ) + Σ_{n: y_n ≠ y_a} exp(s_an/τ)) ], averaged over
/// the positive pairs. Unlike <see cref="SupConLoss"/>, a pair's denominator holds that positive and the anchor's
/// negatives only. With a second view, both views of every scan are rows (labels repeated); with labels 0…B−1 (each scan
/// its own class) and a second view, this is SimCLR's NT-Xent over the 2B views (<see cref="InfoNceVariant.NtXent"/>).
/// References: Chen et al. 2020, "A Simple Framework for Contrastive Learning of Visual Representations" (SimCLR,
/// arXiv 2002.05709); pytorch-metric-learning's NTXentLoss (Musgrave et al.).
/// </summary>
public sealed class NtXentLoss : ObjectiveBase<NtXentOptions>
{
    private readonly SimilarityInputs _inputs = new();
    private readonly SoftmaxContrastKernel _kernel = new();
    private readonly Workspace<int> _labels = new(), _keys = new(), _members = new(), _start = new(), _end = new(), _offsets = new();
    private readonly Workspace<double> _terms = new();
    private readonly Workspace<float> _weights = new();
    private readonly AnchorReduction _reduction = new();

    /// <summary>Creates the objective.</summary>
    /// <param name="options">Options (validated); null for the defaults.</param>
    public NtXentLoss(NtXentOptions? options = null) : this(options, null) { }

    /// <summary>Creates the objective with a reducer over its per-positive-pair terms (each of kind
    /// <see cref="TermKind.PositivePair"/>, by anchor and then by positive, both in row order), which
    /// replaces the mean; null for the mean.</summary>
    /// <param name="options">Options (validated); null for the defaults.</param>
    /// <param name="reducer">The reducer, or null. The mean and the sum run in the fused pass; any other reducer costs one
    /// forward pass more (the terms, then its weights, then the fused pass with each pair's weight).</param>
    public NtXentLoss(NtXentOptions? options, ReducerBase? reducer) : base("ntxent", options) => Reducer = reducer ?? MeanReducer.Instance;

    /// <summary>The reducer over the positive-pair terms (the mean unless one was passed).</summary>
    public ReducerBase Reducer { get; }

    /// <inheritdoc />
    public override BatchFields Requires => BatchFields.Labels;

    /// <inheritdoc />
    public override BatchFields Reads => BatchFields.Labels | BatchFields.SecondView;

    /// <inheritdoc />
    protected override (double Loss, int Active) ComputeCore(in EmbeddingBatch batch, Span<float> gradEmbeddings, Span<float> gradSecondView)
    {
        int b = batch.Count, d = batch.Dimension;
        var second = BatchContract.SecondView(batch, "NT-Xent", required: false);
        var labels = BatchContract.Labels(batch, "NT-Xent");
        bool wantGrad = !gradEmbeddings.IsEmpty || !gradSecondView.IsEmpty;
        _inputs.Load(batch.Embeddings, second, b, d, Options.Similarity, wantGrad);
        int n = _inputs.Rows;
        var all = _labels.Get(n);
        labels.CopyTo(all);
        if (n > b) all.Slice(0, b).CopyTo(all.Slice(b));
        LabelTargets.Build(all, n, _keys, _members, _start, _end);
        // Each label group by row index, so that a row's positive pairs come in the order of their positives (the
        // order a reducer sees; the sort in Build need not be stable).
        for (int g = 0; g < n; g = _end.Array[_members.Array[g]]) _members.Array.AsSpan(g, _end.Array[_members.Array[g]] - g).Sort();
        long positivePairs = 0;
        for (int i = 0; i < n; i++) positivePairs += _end.Array[i] - _start.Array[i] - 1;
        if (positivePairs == 0)
        {
            gradEmbeddings.Clear(); gradSecondView.Clear();
            return (0, 0);
        }
        var z = _inputs.Z;
        var gz = wantGrad ? _inputs.GradZ : Memory<float>.Empty;
        float invTau = 1f / Options.Temperature;
        double loss; int active;
        if (AnchorReduction.Fused(Reducer))
        {
            float weight = Reducer is SumReducer ? 1f : (float)(1.0 / positivePairs);
            (loss, active) = _kernel.RunRows(new PositivePairRow(_members.Array, _start.Array, _end.Array, weight), z, n, z, n, d, self: true, invTau, gz, gz);
        }
        else
        {
            // The terms (one forward pass), the reducer's weights, then the fused pass with each pair's weight.
            var offsets = _offsets.Get(n);
            for (int i = 0, k = 0; i < n; i++) { offsets[i] = k; k += _end.Array[i] - _start.Array[i] - 1; }
            var terms = _terms.Get((int)positivePairs);
            var weights = _weights.Get((int)positivePairs);
            weights.Fill(1f);
            (_, active) = _kernel.RunRows(new PositivePairRow(_members.Array, _start.Array, _end.Array, _offsets.Array, _terms.Array, null),
                z, n, z, n, d, self: true, invTau, Memory<float>.Empty, Memory<float>.Empty);
            loss = _reduction.Weigh(Reducer, terms, weights, TermKind.PositivePair);
            if (wantGrad)
                _kernel.RunRows(new PositivePairRow(_members.Array, _start.Array, _end.Array, _offsets.Array, null, _weights.Array),
                    z, n, z, n, d, self: true, invTau, gz, gz);
        }
        if (!gradEmbeddings.IsEmpty) _inputs.Backward(0, b, gradEmbeddings);
        if (!gradSecondView.IsEmpty) _inputs.Backward(b, b, gradSecondView);
        ReportMining(new MiningStatistics { Pairs = positivePairs, PositivePairs = positivePairs, Anchors = active });
        return (loss, active);
    }
}
