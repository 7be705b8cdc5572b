using System.Globalization;
using Learner.Metrics;
using Learner.Nn;

namespace Learner.Downstream;

/// <summary>
/// The metrics of one evaluation of three-way change on held-out (or out-of-fold) pairs, each with its patient-bootstrap
/// interval: what <see cref="ChangeReport.Summarize"/> computes for the experiment, <c>learner evaluate</c> and anyone
/// holding predictions, so that the same predictions always get the same intervals.
/// </summary>
/// <param name="Pairs">Number of evaluated same-patient consecutive pairs.</param>
/// <param name="Patients">Number of distinct patients those pairs belong to (the bootstrap's unit).</param>
/// <param name="Accuracy">Accuracy with its interval.</param>
/// <param name="MacroF1">Macro-averaged F1 over worsened / stable / improved with its interval.</param>
/// <param name="QuadraticKappa">Quadratic-weighted Cohen's kappa with its interval.</param>
/// <param name="BalancedAccuracy">Balanced accuracy (mean recall) of the pooled predictions.</param>
/// <param name="Spearman">Spearman correlation of the embedding cosine distance of each pair with its |Δscore| (the
/// paper's Fig. 1), with its interval; NaN without distances.</param>
/// <param name="Confusion">Confusion matrix, truth × prediction, classes worsened / stable / improved.</param>
/// <param name="TrueClassCounts">Number of pairs of each true class (worsened, stable, improved).</param>
public sealed record ChangeReport(int Pairs, int Patients, MetricInterval Accuracy, MetricInterval MacroF1, MetricInterval QuadraticKappa,
    double BalancedAccuracy, MetricInterval Spearman, int[,] Confusion, int[] TrueClassCounts)
{
    /// <summary>The stream every bootstrap of <see cref="Summarize"/> forks from: <c>new Rng(seed).Fork(BootstrapStream)</c>;
    /// accuracy then draws from <c>.Fork(1)</c>, macro-F1 from <c>.Fork(2)</c>, quadratic κ from <c>.Fork(3)</c> and the
    /// alignment Spearman from <c>.Fork(4)</c>.</summary>
    public const ulong BootstrapStream = 0xB007;

    /// <summary>The smallest share of pairs a true class may have before <see cref="Warnings"/> calls it nearly empty.</summary>
    public const double SparseClassShare = 0.05;

    /// <summary>
    /// Summarises predictions: the pooled estimates and percentile intervals from <paramref name="resamples"/> patient
    /// bootstrap replicates (whole patients resampled with replacement; see <see cref="Bootstrap.ConfidenceInterval(ReadOnlySpan{int}, Func{int[], double}, int, double, Rng)"/>).
    /// </summary>
    /// <param name="evaluation">Truth, predictions and the patient of every pair.</param>
    /// <param name="distances">The cosine distance of every alignment pair's embeddings (may be empty).</param>
    /// <param name="gaps">|Δscore| of every alignment pair (same length as <paramref name="distances"/>).</param>
    /// <param name="alignmentPatients">The patient of every alignment pair (same length).</param>
    /// <param name="resamples">Bootstrap replicates (≥ 1).</param>
    /// <param name="seed">Seed of the bootstrap streams (see <see cref="BootstrapStream"/>).</param>
    /// <param name="level">Confidence level in (0, 1); default 0.95.</param>
    /// <returns>The report.</returns>
    /// <exception cref="ArgumentException">No pairs, mismatched lengths, or a resample count below 1.</exception>
    public static ChangeReport Summarize(ChangeEvaluationResult evaluation, ReadOnlySpan<double> distances, ReadOnlySpan<double> gaps, ReadOnlySpan<int> alignmentPatients,
        int resamples, ulong seed, double level = 0.95)
    {
        ArgumentNullException.ThrowIfNull(evaluation);
        if (evaluation.Truth.Length == 0) throw new ArgumentException("There are no evaluated pairs to summarise.", nameof(evaluation));
        if (evaluation.Predicted.Length != evaluation.Truth.Length || evaluation.PatientIndices.Length != evaluation.Truth.Length)
            throw new ArgumentException($"The evaluation has {evaluation.Truth.Length} truths, {evaluation.Predicted.Length} predictions and {evaluation.PatientIndices.Length} patients; they must be equal.", nameof(evaluation));
        if (distances.Length != gaps.Length || distances.Length != alignmentPatients.Length)
            throw new ArgumentException($"Alignment inputs differ in length: {distances.Length} distances, {gaps.Length} gaps, {alignmentPatients.Length} patients.", nameof(distances));
        ArgumentOutOfRangeException.ThrowIfLessThan(resamples, 1);
        var rng = new Rng(seed).Fork(BootstrapStream);
        int[] truth = evaluation.Truth, pred = evaluation.Predicted;
        var accuracy = Bootstrap.ConfidenceInterval(evaluation.PatientIndices, idx => Classification.Accuracy(Pick(truth, idx), Pick(pred, idx), 3), resamples, level, rng.Fork(1));
        var macroF1 = Bootstrap.ConfidenceInterval(evaluation.PatientIndices, idx => Classification.MacroF1(Pick(truth, idx), Pick(pred, idx), 3), resamples, level, rng.Fork(2));
        var kappa = Bootstrap.ConfidenceInterval(evaluation.PatientIndices, idx => Classification.CohenKappa(Pick(truth, idx), Pick(pred, idx), 3), resamples, level, rng.Fork(3));
        var spearman = new MetricInterval(double.NaN, double.NaN, double.NaN) { Level = level };
        if (distances.Length >= 2)
        {
            var x = distances.ToArray();
            var y = gaps.ToArray();
            spearman = Bootstrap.ConfidenceInterval(alignmentPatients, idx =>
            {
                var a = new double[idx.Length];
                var b = new double[idx.Length];
                for (int i = 0; i < idx.Length; i++) { a[i] = x[idx[i]]; b[i] = y[idx[i]]; }
                return Correlations.Spearman(a, b);
            }, resamples, level, rng.Fork(4));
        }
        var counts = new int[3];
        foreach (int t in truth) counts[t]++;
        return new ChangeReport(truth.Length, evaluation.PatientIndices.Distinct().Count(), accuracy, macroF1, kappa,
            Classification.BalancedAccuracy(truth, pred, 3), spearman, Classification.ConfusionMatrix(truth, pred, 3), counts);
    }

    /// <summary>Warnings about the evaluation's class balance: a true class with no pair (its F1 is 0 or undefined, and
    /// accuracy can look perfect when every pair is "stable") or with fewer than <see cref="SparseClassShare"/> of the
    /// pairs (its F1 is dominated by a handful of pairs). Empty when the classes are usable.</summary>
    public IReadOnlyList<string> Warnings
    {
        get
        {
            var list = new List<string>();
            for (int c = 0; c < 3; c++)
            {
                string name = Classification.ChangeLabelNames[c];
                if (TrueClassCounts[c] == 0)
                    list.Add($"No evaluated pair is '{name}': the change thresholds leave that class empty, so macro-F1 and accuracy do not measure three-way change; adjust the thresholds.");
                else if (TrueClassCounts[c] < SparseClassShare * Pairs)
                    list.Add(string.Create(CultureInfo.InvariantCulture, $"Only {TrueClassCounts[c]} of {Pairs} evaluated pairs are '{name}' ({100.0 * TrueClassCounts[c] / Pairs:F1} %): its F1, and so macro-F1, rests on very few pairs."));
            }
            return list;
        }
    }

    private static int[] Pick(int[] values, int[] idx)
    {
        var r = new int[idx.Length];
        for (int i = 0; i < idx.Length; i++) r[i] = values[idx[i]];
        return r;
    }
}
