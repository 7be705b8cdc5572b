using static Learner.Objectives.WeightedContrastiveFormulas;
using Learner.Objectives.Distances;
using Learner.Objectives.Kernels;
using Learner.Objectives.Miners;
using Learner.Objectives.Options;

namespace Learner.Objectives;

/// <summary>
/// LEARNER's weighted contrastive loss: with the score gap Δ = |s_i − s_j| and growth function g,
/// ℓ = d² for Δ ≤ threshold (positive), else ℓ = w_ij·max(0, m_ij − d)² with w_ij = g(Δ)/mean_negatives g (or 1)
/// and m_ij = m₀ + α·g(Δ) (or m₀): the push between two scans grows with their health-score difference. The ranking form
/// (<see cref="WeightedContrastiveOptions.TargetDistance"/>) uses ℓ = w_ij·(m_ij − d)² for negatives: each distance is
/// regressed to a target that grows with the gap.
/// Reference: LEARNER (arXiv 2411.01144): inter-patient contrastive pretraining weighted by the health-score difference.
/// </summary>
/// <remarks>With sampler pairs (<see cref="EmbeddingBatch.Pairs"/> and <see cref="WeightedContrastiveOptions.UseProvidedPairs"/>),
/// a pair is positive when the sampler marked it so (<see cref="WeightedContrastiveOptions.PositivesFromPairs"/>, the
/// default) and Δ is the pair's <see cref="IndexPair.ScoreGap"/> when finite; with every in-batch pair, or with
/// <see cref="WeightedContrastiveOptions.PositivesFromPairs"/> false, Δ ≤ threshold decides.</remarks>
public sealed class WeightedContrastiveLoss : ObjectiveBase<WeightedContrastiveOptions>
{
    private readonly PairDistance _distance;
    private readonly PairLossEngine _engine = new();
    private readonly Workspace<float> _scores = new();

    /// <summary>Creates the objective with the distance and reduction its options name.</summary>
    /// <param name="options">Options (validated); null for the defaults.</param>
    public WeightedContrastiveLoss(WeightedContrastiveOptions? options = null) : this(options, null) { }

    /// <summary>Creates the objective with a distance of your own (e.g. a <see cref="CustomDistance"/>), which replaces
    /// <see cref="WeightedContrastiveOptions.Distance"/>, and optionally a reducer, which replaces
    /// <see cref="WeightedContrastiveOptions.Reduction"/>; null for the options' choice. The weights and margins depend
    /// on the scores only, so they are the same with any distance.</summary>
    /// <param name="options">Options (validated); null for the defaults.</param>
    /// <param name="distance">The distance (owned by this objective from now on), or null.</param>
    /// <param name="reducer">The reducer over the pair terms, or null.</param>
    /// <exception cref="ArgumentException">A reducer was passed while the options' <c>Reduction</c> names another, non-default reduction.</exception>
    public WeightedContrastiveLoss(WeightedContrastiveOptions? options, PairDistance? distance, Reducers.ReducerBase? reducer = null)
        : base("weighted-contrastive", options)
    {
        _distance = distance ?? PairDistance.Create(Options.Distance);
        Reducer = Reducers.ReducerBase.Resolve(reducer, Options.Reduction, "WeightedContrastiveOptions.Reduction");
    }

    /// <summary>The reducer over the pair terms (the options' reduction unless one was passed).</summary>
    public Reducers.ReducerBase Reducer { get; }

    /// <inheritdoc />
    public override BatchFields Requires => BatchFields.Scores;

    /// <inheritdoc />
    public override BatchFields Reads => BatchFields.Scores | BatchFields.PatientIds | BatchFields.Pairs;

    /// <inheritdoc />
    protected override (double Loss, int Active) ComputeCore(in EmbeddingBatch batch, Span<float> gradEmbeddings, Span<float> gradSecondView)
    {
        var scores = BatchContract.Scores(batch, "Weighted contrastive loss");
        var selection = PairSelection.For(batch, Options.UseProvidedPairs, Options.InterPatientOnly, "weighted contrastive");
        int n = batch.Count;
        scores.CopyTo(_scores.Get(n));
        var s = _scores.Array;
        double weightScale = 1.0;
        if (Options.WeightByGap && Options.NormalizeWeights)
        {
            // Mean of g(Δ) over the negative pairs of the selection.
            double sum = 0; long count = 0;
            float thr = Options.PositiveThreshold;
            if (!selection.AllPairs)
            {
                foreach (var p in selection.Explicit)
                {
                    double gap = PairGap(s, p.First, p.Second, p.ScoreGap);
                    if (!IsPositive(Options, p.Positive, gap, provided: true)) { sum += Options.Gap(gap); count++; }
                }
            }
            else
            {
                for (int i = 0; i < n; i++)
                {
                    double rs = 0; long rc = 0;
                    for (int j = i + 1; j < n; j++)
                    {
                        if (!selection.Includes(i, j)) continue;
                        double gap = Math.Abs((double)s[i] - s[j]);
                        if (gap > thr) { rs += Options.Gap(gap); rc++; }
                    }
                    sum += rs; count += rc;
                }
            }
            weightScale = WeightScale(Options, sum, count);
        }
        gradSecondView.Clear();
        return Report(_engine.Run(new Penalty(s, Options, weightScale, !selection.AllPairs), _distance, batch, selection, Reducer, gradEmbeddings));
    }

    private readonly struct Penalty : IPairPenalty
    {
        private readonly float[] _scores;
        private readonly WeightedContrastiveOptions _o;
        private readonly double _weightScale;
        private readonly bool _provided;

        public Penalty(float[] scores, WeightedContrastiveOptions options, double weightScale, bool provided)
        {
            _scores = scores; _o = options; _weightScale = weightScale; _provided = provided;
        }

        bool IPairPenalty.IsPositive(int i, int j, bool positiveFlag, float providedGap)
            => IsPositive(_o, positiveFlag, PairGap(_scores, i, j, providedGap), _provided);

        public double Evaluate(int i, int j, bool positive, float providedGap, double distance, out double grad)
        {
            if (positive) { grad = 2 * distance; return distance * distance; }
            double gap = PairGap(_scores, i, j, providedGap);
            double g = _o.Gap(gap);
            double w = NegativeWeight(_o, g, _weightScale);
            double h = NegativeMargin(_o, g) - distance;
            if ((h <= 0 && !_o.TargetDistance) || w == 0 || h == 0) { grad = 0; return 0; }
            grad = -2 * w * h;
            return w * h * h;
        }
    }
}
