using System.Globalization;
using Learner.Data;
using Learner.Sampling;

namespace Learner.Downstream;

/// <summary>
/// The change thresholds leave a change class (worsened, stable or improved) without a single same-patient pair, so
/// accuracy and macro-F1 would not measure three-way change (with every pair "stable", predicting "stable" scores 1.000).
/// Thrown by <see cref="Experiments.LearnerExperiment"/> and <c>learner evaluate</c> before anything is fit; a class that
/// is merely sparse (below <see cref="ChangeReport.SparseClassShare"/>) is a warning instead (<see cref="ChangeReport.Warnings"/>).
/// </summary>
public sealed class EmptyChangeClassException : LearnerDataException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="thresholds">The thresholds that were applied.</param>
    /// <param name="counts">Pairs per class: worsened, stable, improved.</param>
    public EmptyChangeClassException(ChangeThresholds thresholds, IReadOnlyList<int> counts)
        : base(Describe(thresholds, counts))
    {
        Thresholds = thresholds;
        Counts = counts.ToArray();
    }

    /// <summary>The thresholds that were applied.</summary>
    public ChangeThresholds Thresholds { get; }

    /// <summary>Pairs per class, indexed by <see cref="ChangeLabel"/> (worsened, stable, improved).</summary>
    public IReadOnlyList<int> Counts { get; }

    /// <summary>Throws when a class of <paramref name="pairs"/> is empty.</summary>
    /// <param name="pairs">The consecutive same-patient pairs, labelled with their thresholds.</param>
    /// <exception cref="EmptyChangeClassException">Some class has no pair.</exception>
    public static void ThrowIfAnyEmpty(IntraPatientPairSampler pairs)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        if (pairs.Pairs.Count > 0 && pairs.CountByChange.Any(c => c == 0)) throw new EmptyChangeClassException(pairs.Thresholds, pairs.CountByChange);
    }

    private static string Describe(ChangeThresholds t, IReadOnlyList<int> counts)
    {
        ArgumentNullException.ThrowIfNull(t);
        ArgumentNullException.ThrowIfNull(counts);
        string[] names = ["worsened", "stable", "improved"];
        var empty = Enumerable.Range(0, Math.Min(3, counts.Count)).Where(c => counts[c] == 0).Select(c => $"'{names[c]}'");
        string unit = t.Mode == ThresholdMode.Relative ? " (relative)" : "";
        string applied = string.Create(CultureInfo.InvariantCulture, $"+{t.Improvement} / −{t.Worsening}{unit}");
        return $"No same-patient pair is {string.Join(" or ", empty)} with change thresholds {applied} "
            + $"(pairs: {counts[0]} worsened, {counts[1]} stable, {counts[2]} improved), so accuracy and macro-F1 would not measure three-way change. "
            + "Choose thresholds on the score's scale (the change that counts clinically, e.g. ±20 S/F points, ±2 MMSE).";
    }
}
