using Learner.Objectives.Distances;
using Learner.Objectives.Kernels;
using Learner.Objectives.Miners;
using Learner.Objectives.Options;

namespace Learner.Objectives;

/// <summary>
/// Pairwise margin contrastive loss: ℓ = d² for a positive pair, max(0, m − d)² for a negative pair, reduced over
/// the pairs (mean by default). Pairs come from the sampler, or are every pair of the batch with positives sharing a
/// coarse label.
/// Reference: Hadsell, Chopra &amp; LeCun 2006, "Dimensionality Reduction by Learning an Invariant Mapping" (CVPR).
/// </summary>
public sealed class ContrastiveLoss : ObjectiveBase
{
    private readonly PairDistance _distance;
    private readonly PairLossEngine _engine = new();
    private readonly Workspace<int> _labels = new();

    /// <summary>Creates the objective.</summary>
    /// <param name="options">Options (validated); null for the defaults.</param>
    public ContrastiveLoss(ContrastiveOptions? options = null) : base("contrastive")
    {
        Options = options ?? new ContrastiveOptions();
        Options.Validate();
        _distance = PairDistance.Create(Options.Distance);
    }

    /// <summary>The options.</summary>
    public ContrastiveOptions Options { get; }

    /// <inheritdoc />
    public override BatchFields Requires => BatchFields.Pairs | BatchFields.Labels;

    /// <inheritdoc />
    protected override (double Loss, int Active) ComputeCore(in EmbeddingBatch batch, Span<float> gradEmbeddings, Span<float> gradSecondView)
    {
        var selection = PairSelection.For(batch, Options.UseProvidedPairs, Options.InterPatientOnly, "contrastive");
        int[] labels = System.Array.Empty<int>();
        if (selection.AllPairs)
        {
            var l = InputChecks.Labels(batch, "Contrastive loss (all pairs; or give EmbeddingBatch.Pairs)");
            l.CopyTo(_labels.Get(batch.Count));
            labels = _labels.Array;
        }
        gradSecondView.Clear();
        return _engine.Run(new Penalty(labels, Options.Margin), _distance, batch, selection, Options.Reduction, gradEmbeddings);
    }

    private readonly struct Penalty : IPairPenalty
    {
        private readonly int[] _labels;
        private readonly double _margin;

        public Penalty(int[] labels, double margin) { _labels = labels; _margin = margin; }

        public double Evaluate(int i, int j, bool positiveFlag, float providedGap, double distance, out double grad)
        {
            bool positive = _labels.Length == 0 ? positiveFlag : _labels[i] == _labels[j];
            if (positive) { grad = 2 * distance; return distance * distance; }
            double h = _margin - distance;
            if (h <= 0) { grad = 0; return 0; }
            grad = -2 * h;
            return h * h;
        }
    }
}
