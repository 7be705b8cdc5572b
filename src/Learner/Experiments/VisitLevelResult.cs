using Learner.Metrics;

namespace Learner.Experiments;

/// <summary>
/// Visit-level change of one run (objective × seed): each visit's scans are aggregated by the mean of their embeddings
/// (<see cref="Downstream.VisitPairs"/>), the change classifier is fit on the visit-embedding differences of the training
/// patients' consecutive visits and predicts the held-out patients' once; alignment is the Spearman of the cosine distance
/// of consecutive visit embeddings with |Δscore|. Intervals are 95 % patient-bootstrap intervals, as for the clip level.
/// </summary>
/// <param name="Pairs">Held-out consecutive-visit pairs evaluated.</param>
/// <param name="Accuracy">Accuracy with its interval.</param>
/// <param name="MacroF1">Macro-F1 with its interval.</param>
/// <param name="QuadraticKappa">Quadratic-weighted κ with its interval.</param>
/// <param name="Spearman">Spearman(cosine distance of visit embeddings, |Δscore|) with its interval.</param>
public sealed record VisitLevelResult(int Pairs, MetricInterval Accuracy, MetricInterval MacroF1, MetricInterval QuadraticKappa, MetricInterval Spearman)
{
    /// <summary>True change class of every evaluated visit pair (0 worsened, 1 stable, 2 improved); empty when not recorded.</summary>
    public IReadOnlyList<int> Truth { get; init; } = Array.Empty<int>();

    /// <summary>The prediction for every evaluated visit pair.</summary>
    public IReadOnlyList<int> Predicted { get; init; } = Array.Empty<int>();

    /// <summary>The patient (index in the dataset) of every evaluated visit pair.</summary>
    public IReadOnlyList<int> PairPatients { get; init; } = Array.Empty<int>();

    /// <summary>Cosine distance of each evaluated pair's visit embeddings.</summary>
    public IReadOnlyList<double> Distances { get; init; } = Array.Empty<double>();

    /// <summary>|Δscore| of each evaluated visit pair.</summary>
    public IReadOnlyList<double> Gaps { get; init; } = Array.Empty<double>();
}
