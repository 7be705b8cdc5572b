using System.Globalization;
using Learner.Data;

namespace Learner.Objectives;

/// <summary>
/// The training cohort's statistics that objective recipes scale their defaults from (see <see cref="ObjectiveRecipes"/>):
/// over the scans with a finite health score, their count, mean, population standard deviation, minimum and maximum;
/// and the number of distinct coarse labels. Compute it from the <b>training</b> patients only
/// (<see cref="FromDataset"/> on the training split), so no statistic of held-out patients reaches the objective.
/// </summary>
public sealed record CohortStatistics
{
    /// <summary>Creates the statistics from their values.</summary>
    /// <param name="scoredScanCount">Scans with a finite score (≥ 0).</param>
    /// <param name="scoreMean">Their mean score (NaN when there are none).</param>
    /// <param name="scoreStandardDeviation">Their population standard deviation, ≥ 0 (NaN when there are none).</param>
    /// <param name="scoreMin">Their smallest score (NaN when there are none).</param>
    /// <param name="scoreMax">Their largest score (NaN when there are none).</param>
    /// <param name="labelCount">Distinct coarse labels in the cohort (≥ 0).</param>
    /// <exception cref="ArgumentException">A count is negative, or, with scored scans, a score statistic is not finite,
    /// the standard deviation is negative or the minimum exceeds the maximum (the message names it).</exception>
    public CohortStatistics(int scoredScanCount, double scoreMean, double scoreStandardDeviation, double scoreMin, double scoreMax, int labelCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(scoredScanCount);
        ArgumentOutOfRangeException.ThrowIfNegative(labelCount);
        if (scoredScanCount > 0)
        {
            foreach (var (v, n) in new[] { (scoreMean, nameof(scoreMean)), (scoreStandardDeviation, nameof(scoreStandardDeviation)), (scoreMin, nameof(scoreMin)), (scoreMax, nameof(scoreMax)) })
                if (!double.IsFinite(v)) throw new ArgumentOutOfRangeException(n, v, FormattableString.Invariant($"CohortStatistics.{n} must be finite when {scoredScanCount} scans have scores, got {v}."));
            if (scoreStandardDeviation < 0)
                throw new ArgumentOutOfRangeException(nameof(scoreStandardDeviation), scoreStandardDeviation, FormattableString.Invariant($"CohortStatistics.scoreStandardDeviation must be ≥ 0, got {scoreStandardDeviation}."));
            if (scoreMin > scoreMax)
                throw new ArgumentException(FormattableString.Invariant($"CohortStatistics: scoreMin {scoreMin} exceeds scoreMax {scoreMax}."), nameof(scoreMin));
        }
        ScoredScanCount = scoredScanCount;
        ScoreMean = scoredScanCount > 0 ? scoreMean : double.NaN;
        ScoreStandardDeviation = scoredScanCount > 0 ? scoreStandardDeviation : double.NaN;
        ScoreMin = scoredScanCount > 0 ? scoreMin : double.NaN;
        ScoreMax = scoredScanCount > 0 ? scoreMax : double.NaN;
        LabelCount = labelCount;
    }

    /// <summary>The statistics of <paramref name="training"/>: pass the training split only.</summary>
    /// <param name="training">The training patients' scans.</param>
    /// <returns>The statistics (score fields NaN when no scan has a finite score).</returns>
    public static CohortStatistics FromDataset(LongitudinalDataset training)
    {
        ArgumentNullException.ThrowIfNull(training);
        var scores = training.Scans.Where(s => s.HasScore).Select(s => s.Score!.Value).ToArray();
        int labels = training.Scans.Where(s => s.CoarseLabel is not null).Select(s => s.CoarseLabel!.Value).Distinct().Count();
        if (scores.Length == 0)
            return new CohortStatistics(0, double.NaN, double.NaN, double.NaN, double.NaN, labels) { FirstUnscoredScanId = training.Scans.FirstOrDefault()?.Id };
        // The same arithmetic as LearnerExperiment has always used (population standard deviation), so the scaled
        // defaults do not move by a rounding error.
        double mean = scores.Average();
        double std = Math.Sqrt(scores.Select(v => (v - mean) * (v - mean)).Average());
        return new CohortStatistics(scores.Length, mean, std, scores.Min(), scores.Max(), labels);
    }

    /// <summary>Statistics with the given score mean and standard deviation and nothing else known (one scored scan,
    /// minimum and maximum at the mean): for validating specs without data, and for tests.</summary>
    /// <param name="scoreMean">The mean score.</param>
    /// <param name="scoreStandardDeviation">The standard deviation (≥ 0).</param>
    /// <returns>The statistics.</returns>
    public static CohortStatistics FromMoments(double scoreMean, double scoreStandardDeviation)
        => new(1, scoreMean, scoreStandardDeviation, scoreMean, scoreMean, 0);

    /// <summary>Statistics of a cohort without health scores (label-only), with <paramref name="labelCount"/> labels.</summary>
    /// <param name="labelCount">Distinct coarse labels (≥ 0).</param>
    /// <returns>The statistics.</returns>
    public static CohortStatistics LabelsOnly(int labelCount) => new(0, double.NaN, double.NaN, double.NaN, double.NaN, labelCount);

    /// <summary>Scans with a finite health score.</summary>
    public int ScoredScanCount { get; }

    /// <summary>Whether any scan has a finite health score (otherwise the score fields are NaN).</summary>
    public bool HasScores => ScoredScanCount > 0;

    /// <summary>Mean of the finite scores (NaN without scores).</summary>
    public double ScoreMean { get; }

    /// <summary>Population standard deviation of the finite scores (NaN without scores).</summary>
    public double ScoreStandardDeviation { get; }

    /// <summary>Smallest finite score (NaN without scores).</summary>
    public double ScoreMin { get; }

    /// <summary>Largest finite score (NaN without scores).</summary>
    public double ScoreMax { get; }

    /// <summary>Number of distinct coarse labels.</summary>
    public int LabelCount { get; }

    /// <summary>The unit score gaps are measured in: the standard deviation when it is &gt; 0, else 1 (NaN without
    /// scores).</summary>
    public double ScoreScale => !HasScores ? double.NaN : ScoreStandardDeviation > 0 ? ScoreStandardDeviation : 1;

    /// <summary>When built from a dataset without any score: its first scan (named by <see cref="RequireScores"/>).</summary>
    public string? FirstUnscoredScanId { get; init; }

    /// <summary>Throws unless the cohort has scores; recipes that scale from the scores call it first.</summary>
    /// <param name="objective">The objective that needs the scores (named in the message).</param>
    /// <exception cref="MissingScoreException">No scan of the dataset the statistics came from has a finite health
    /// score (a data error: the message names its first scan).</exception>
    /// <exception cref="InvalidOperationException">No score is known and the statistics did not come from a dataset.</exception>
    public void RequireScores(string objective)
    {
        if (!HasScores && FirstUnscoredScanId is { } scan)
            throw new MissingScoreException(scan, null,
                $"objective '{objective}', whose defaults scale from the training cohort's health scores (no training scan has one; use a label-only objective such as supcon, contrastive, triplet or infonce, or add scores)");
        if (!HasScores)
            throw new InvalidOperationException(
                $"Objective '{objective}' scales its defaults from the training cohort's health scores, but no training scan has a finite score " +
                $"({LabelCount.ToString(CultureInfo.InvariantCulture)} coarse labels). Use a label-only objective (supcon, contrastive, triplet, infonce) or add scores.");
    }
}
