using Learner.Objectives.Distances;
using Learner.Objectives.Kernels;
using Learner.Objectives.Miners;
using Learner.Objectives.Options;
using Learner.Objectives.Reducers;

namespace Learner.Objectives;

/// <summary>
/// Pairwise margin contrastive loss: ℓ = max(0, d − m⁺)² for a positive pair (d² with the default m⁺ = 0),
/// max(0, m − d)² for a negative pair, or the same unsquared (<see cref="ContrastiveOptions.Squared"/> false), reduced
/// over the pairs (mean by default). Pairs come from the sampler, or are every pair of the batch with positives sharing
/// a coarse label. <see cref="ContrastiveOptions.PytorchMetricLearning"/> is pytorch-metric-learning's
/// <c>ContrastiveLoss</c>. The result's terms hold the positive and negative parts.
/// Reference: Hadsell, Chopra &amp; LeCun 2006, "Dimensionality Reduction by Learning an Invariant Mapping" (CVPR).
/// </summary>
public sealed class ContrastiveLoss : ObjectiveBase<ContrastiveOptions>
{
    private readonly PairDistance _distance;
    private readonly PairLossEngine _engine = new();
    private readonly Workspace<int> _labels = new();

    /// <summary>Creates the objective with the distance its options name.</summary>
    /// <param name="options">Options (validated); null for the defaults.</param>
    public ContrastiveLoss(ContrastiveOptions? options = null) : this(options, null) { }

    /// <summary>Creates the objective with a distance of your own (e.g. a <see cref="CustomDistance"/>), which replaces
    /// <see cref="ContrastiveOptions.Distance"/>, and optionally a reducer of your own, which replaces
    /// <see cref="ContrastiveOptions.Reduction"/>; null for the options' choice.</summary>
    /// <param name="options">Options (validated); null for the defaults.</param>
    /// <param name="distance">The distance (owned by this objective from now on), or null.</param>
    /// <param name="reducer">The reducer over the pair terms, or null.</param>
    /// <exception cref="ArgumentException">A reducer was passed while the options' <c>Reduction</c> names another, non-default reduction.</exception>
    public ContrastiveLoss(ContrastiveOptions? options, PairDistance? distance, ReducerBase? reducer = null) : base("contrastive", options)
    {
        _distance = distance ?? PairDistance.Create(Options.Distance);
        Reducer = ReducerBase.Resolve(reducer, Options.Reduction, "ContrastiveOptions.Reduction");
    }

    /// <summary>The reducer over the pair terms (the options' reduction unless one was passed).</summary>
    public ReducerBase Reducer { get; }

    /// <inheritdoc />
    public override BatchFields Requires => Options.UseProvidedPairs ? BatchFields.None : BatchFields.Labels;

    /// <inheritdoc />
    public override BatchFields RequiresGiven(BatchFields available)
        => Options.UseProvidedPairs && available.HasFlag(BatchFields.Pairs) ? BatchFields.None : BatchFields.Labels;

    /// <inheritdoc />
    public override BatchFields Reads => (Options.UseProvidedPairs ? BatchFields.Pairs : BatchFields.None) | BatchFields.Labels
        | (Options.InterPatientOnly ? BatchFields.PatientIds : BatchFields.None);

    /// <inheritdoc />
    protected override (double Loss, int Active) ComputeCore(in EmbeddingBatch batch, Span<float> gradEmbeddings, Span<float> gradSecondView)
    {
        var selection = PairSelection.For(batch, Options.UseProvidedPairs, Options.InterPatientOnly, "contrastive");
        int[] labels = System.Array.Empty<int>();
        if (selection.AllPairs)
        {
            var l = BatchContract.Labels(batch, "Contrastive loss (all pairs; or give EmbeddingBatch.Pairs)");
            l.CopyTo(_labels.Get(batch.Count));
            labels = _labels.Array;
        }
        gradSecondView.Clear();
        return Report(_engine.Run(new Penalty(labels, Options.Margin, Options.PositiveMargin, Options.Squared), _distance, batch, selection, Reducer, gradEmbeddings));
    }

    private readonly struct Penalty : IPairPenalty
    {
        private readonly int[] _labels;
        private readonly double _margin, _positiveMargin;
        private readonly bool _squared;

        public Penalty(int[] labels, double margin, double positiveMargin, bool squared)
        {
            _labels = labels; _margin = margin; _positiveMargin = positiveMargin; _squared = squared;
        }

        public bool IsPositive(int i, int j, bool positiveFlag, float providedGap) => _labels.Length == 0 ? positiveFlag : _labels[i] == _labels[j];

        public double Evaluate(int i, int j, bool positive, float providedGap, double distance, out double grad)
        {
            double h;
            double sign;
            if (positive)
            {
                h = distance - _positiveMargin;
                // With m⁺ = 0 the squared term is d² as it is (no hinge), so a cosine distance rounded below 0 still counts.
                if (h <= 0 && !(_squared && _positiveMargin == 0)) { grad = 0; return 0; }
                sign = 1;
            }
            else
            {
                h = _margin - distance;
                if (h <= 0) { grad = 0; return 0; }
                sign = -1;
            }
            if (_squared) { grad = 2 * sign * h; return h * h; }
            grad = sign;
            return h;
        }
    }
}
