using Learner.Metrics;

namespace Learner.Experiments;

/// <summary>
/// How well a linear read-out recovers the health score from one run's frozen embeddings of held-out patients: a
/// <see cref="Downstream.HealthScoreProbe"/> (ridge, α = <see cref="Downstream.HealthScoreProbe.DefaultAlpha"/>, on
/// standardised embeddings) is fit in each outer fold on the classifier's training patients (pretraining and validation
/// patients) and predicts that fold's test patients once; R² pools the test predictions of every fold (ȳ their pooled
/// mean). Intervals are 95 % patient-bootstrap intervals.
/// </summary>
/// <param name="Scans">Held-out scans scored at clip (scan) level.</param>
/// <param name="Visits">Held-out visits scored at visit level (each the pooled embedding of its scans against the mean
/// of their scores).</param>
/// <param name="ClipR2">R² of the scan embeddings' probe with its interval.</param>
/// <param name="VisitR2">R² of the visit embeddings' probe with its interval (NaN when no visit was scored).</param>
public sealed record HealthScoreProbeResult(int Scans, int Visits, MetricInterval ClipR2, MetricInterval VisitR2)
{
    /// <summary>The score of every held-out scan scored (folds in order); empty when not recorded.</summary>
    public IReadOnlyList<double> ClipScores { get; init; } = Array.Empty<double>();

    /// <summary>The probe's prediction for each of those scans (same order).</summary>
    public IReadOnlyList<double> ClipPredictions { get; init; } = Array.Empty<double>();

    /// <summary>The patient (index in the dataset) of each of those scans.</summary>
    public IReadOnlyList<int> ClipPatients { get; init; } = Array.Empty<int>();

    /// <summary>The score of every held-out visit scored; empty when not recorded.</summary>
    public IReadOnlyList<double> VisitScores { get; init; } = Array.Empty<double>();

    /// <summary>The probe's prediction for each of those visits.</summary>
    public IReadOnlyList<double> VisitPredictions { get; init; } = Array.Empty<double>();

    /// <summary>The patient of each of those visits.</summary>
    public IReadOnlyList<int> VisitPatients { get; init; } = Array.Empty<int>();
}
