using Learner.Data;

namespace Learner.Metrics;

/// <summary>
/// Multi-class classification metrics on class indices <c>0 … K−1</c>, defined as scikit-learn 1.2 defines them
/// (<c>accuracy_score</c>, <c>balanced_accuracy_score</c>, <c>precision_recall_fscore_support</c>,
/// <c>confusion_matrix</c>, <c>cohen_kappa_score</c>, <c>roc_auc_score</c>).
/// </summary>
/// <remarks>
/// <para>Degenerate cases follow scikit-learn's defaults:</para>
/// <list type="bullet">
/// <item>A precision, recall or F1 whose denominator is zero (a class never predicted, or absent from the truth) is 0
/// (scikit-learn's <c>zero_division="warn"</c> value, without the warning).</item>
/// <item>Macro F1 averages over the classes that occur in the truth or in the predictions (scikit-learn's default
/// <c>labels=None</c>); a class absent from both is not counted. Weighted F1 weighs each class by its support.</item>
/// <item>Balanced accuracy is the mean recall over the classes present in the truth (scikit-learn drops classes whose
/// recall is undefined).</item>
/// <item>Cohen's kappa is computed over all <c>K</c> classes (scikit-learn's <c>labels=range(K)</c>), so weights are
/// the distances between class indices; it is NaN when both raters put every item into the same single class
/// (0/0, as scikit-learn returns).</item>
/// <item>ROC-AUC of a class that has no positive or no negative item in the truth is undefined: NaN per class, and it
/// is left out of the macro average (scikit-learn raises instead). The macro average is NaN when no class is defined.</item>
/// <item>Empty inputs give NaN for every scalar metric and zeros in the per-class counts.</item>
/// </list>
/// <para>Every method throws <see cref="ArgumentException"/> (naming the argument, the index and the value) for
/// mismatched lengths, labels outside <c>0 … K−1</c>, and non-finite scores.</para>
/// </remarks>
public static class Classification
{
    /// <summary>The class names of <see cref="ChangeLabel"/> in index order.</summary>
    public static IReadOnlyList<string> ChangeLabelNames { get; } = ["worsened", "stable", "improved"];

    /// <summary>The number of <see cref="ChangeLabel"/> classes.</summary>
    public const int ChangeLabelCount = 3;

    /// <summary>The confusion matrix: element <c>[t, p]</c> counts items of true class <c>t</c> predicted as <c>p</c>.</summary>
    /// <param name="truth">True class indices.</param>
    /// <param name="predicted">Predicted class indices (same length).</param>
    /// <param name="classCount">Number of classes <c>K</c>.</param>
    /// <returns>A <c>K×K</c> matrix, rows = truth, columns = prediction.</returns>
    /// <exception cref="ArgumentException">Lengths differ or a label is outside <c>0 … K−1</c>.</exception>
    public static int[,] ConfusionMatrix(ReadOnlySpan<int> truth, ReadOnlySpan<int> predicted, int classCount)
    {
        Validate(truth, predicted, classCount);
        var cm = new int[classCount, classCount];
        for (int i = 0; i < truth.Length; i++) cm[truth[i], predicted[i]]++;
        return cm;
    }

    /// <summary>The fraction of items predicted correctly; NaN for empty input.</summary>
    /// <param name="truth">True class indices.</param>
    /// <param name="predicted">Predicted class indices (same length).</param>
    /// <param name="classCount">Number of classes <c>K</c>.</param>
    /// <returns>The accuracy in [0, 1].</returns>
    /// <exception cref="ArgumentException">Lengths differ or a label is outside <c>0 … K−1</c>.</exception>
    public static double Accuracy(ReadOnlySpan<int> truth, ReadOnlySpan<int> predicted, int classCount)
        => Accuracy(ConfusionMatrix(truth, predicted, classCount));

    /// <summary>The mean per-class recall over the classes present in the truth; NaN for empty input.</summary>
    /// <param name="truth">True class indices.</param>
    /// <param name="predicted">Predicted class indices (same length).</param>
    /// <param name="classCount">Number of classes <c>K</c>.</param>
    /// <returns>The balanced accuracy in [0, 1].</returns>
    /// <exception cref="ArgumentException">Lengths differ or a label is outside <c>0 … K−1</c>.</exception>
    public static double BalancedAccuracy(ReadOnlySpan<int> truth, ReadOnlySpan<int> predicted, int classCount)
        => BalancedAccuracy(ConfusionMatrix(truth, predicted, classCount));

    /// <summary>Per-class precision, recall, F1 and support (zero denominators give 0).</summary>
    /// <param name="truth">True class indices.</param>
    /// <param name="predicted">Predicted class indices (same length).</param>
    /// <param name="classCount">Number of classes <c>K</c>.</param>
    /// <returns>Arrays of length <c>K</c>.</returns>
    /// <exception cref="ArgumentException">Lengths differ or a label is outside <c>0 … K−1</c>.</exception>
    public static (double[] Precision, double[] Recall, double[] F1, int[] Support) PerClass(ReadOnlySpan<int> truth, ReadOnlySpan<int> predicted, int classCount)
        => PerClass(ConfusionMatrix(truth, predicted, classCount));

    /// <summary>The unweighted mean of per-class F1 over the classes occurring in the truth or the predictions; NaN for empty input.</summary>
    /// <param name="truth">True class indices.</param>
    /// <param name="predicted">Predicted class indices (same length).</param>
    /// <param name="classCount">Number of classes <c>K</c>.</param>
    /// <returns>The macro F1 in [0, 1].</returns>
    /// <exception cref="ArgumentException">Lengths differ or a label is outside <c>0 … K−1</c>.</exception>
    public static double MacroF1(ReadOnlySpan<int> truth, ReadOnlySpan<int> predicted, int classCount)
        => MacroF1(ConfusionMatrix(truth, predicted, classCount));

    /// <summary>The support-weighted mean of per-class F1; NaN for empty input.</summary>
    /// <param name="truth">True class indices.</param>
    /// <param name="predicted">Predicted class indices (same length).</param>
    /// <param name="classCount">Number of classes <c>K</c>.</param>
    /// <returns>The weighted F1 in [0, 1].</returns>
    /// <exception cref="ArgumentException">Lengths differ or a label is outside <c>0 … K−1</c>.</exception>
    public static double WeightedF1(ReadOnlySpan<int> truth, ReadOnlySpan<int> predicted, int classCount)
        => WeightedF1(ConfusionMatrix(truth, predicted, classCount));

    /// <summary>
    /// Cohen's kappa <c>1 − Σ w·O / Σ w·E</c> with observed counts <c>O</c>, chance counts <c>E</c> (outer product of
    /// the marginals over <c>n</c>) and weights <c>w</c> between class indices. NaN when undefined (0/0) or for empty input.
    /// </summary>
    /// <param name="truth">True class indices (first rater).</param>
    /// <param name="predicted">Predicted class indices (second rater, same length).</param>
    /// <param name="classCount">Number of classes <c>K</c>.</param>
    /// <param name="weighting">Disagreement weights; quadratic by default (ordinal classes).</param>
    /// <returns>The kappa in [−1, 1], or NaN.</returns>
    /// <exception cref="ArgumentException">Lengths differ, a label is outside <c>0 … K−1</c>, or the weighting is unknown.</exception>
    public static double CohenKappa(ReadOnlySpan<int> truth, ReadOnlySpan<int> predicted, int classCount, KappaWeighting weighting = KappaWeighting.Quadratic)
        => CohenKappa(ConfusionMatrix(truth, predicted, classCount), weighting);

    /// <summary>
    /// One-vs-rest ROC-AUC of each class from an <c>N×K</c> row-major score matrix: the probability that a random item
    /// of the class scores higher (in the class's column) than a random item of another class, ties counting one half
    /// (equal to the area under the trapezoidal ROC curve, as scikit-learn computes it). NaN for a class without
    /// positives or without negatives.
    /// </summary>
    /// <param name="truth">True class indices (length <c>N</c>).</param>
    /// <param name="scores">Row-major <c>N×K</c> scores (probabilities, logits, any monotone score), all finite.</param>
    /// <param name="classCount">Number of classes <c>K</c>.</param>
    /// <returns>The AUC per class (length <c>K</c>).</returns>
    /// <exception cref="ArgumentException">The score matrix is not <c>N×K</c>, a label is out of range, or a score is not finite.</exception>
    public static double[] RocAucOneVsRest(ReadOnlySpan<int> truth, ReadOnlySpan<double> scores, int classCount)
    {
        MetricInput.ClassCount(classCount);
        MetricInput.Labels(truth, classCount, nameof(truth));
        if (scores.Length != (long)truth.Length * classCount)
            throw new ArgumentException($"'{nameof(scores)}' has {scores.Length} elements; an N×K matrix with N = {truth.Length} items and K = {classCount} classes needs {(long)truth.Length * classCount}.", nameof(scores));
        MetricInput.Finite(scores, nameof(scores));
        int n = truth.Length;
        var auc = new double[classCount];
        var column = new double[n];
        var ranks = new double[n];
        for (int c = 0; c < classCount; c++)
        {
            long positives = 0;
            for (int i = 0; i < n; i++)
            {
                column[i] = scores[i * classCount + c];
                if (truth[i] == c) positives++;
            }
            long negatives = n - positives;
            if (positives == 0 || negatives == 0) { auc[c] = double.NaN; continue; }
            Ranking.AverageRanks(column, ranks);
            double rankSum = 0;
            for (int i = 0; i < n; i++) if (truth[i] == c) rankSum += ranks[i];
            auc[c] = (rankSum - positives * (positives + 1) / 2.0) / ((double)positives * negatives);
        }
        return auc;
    }

    /// <inheritdoc cref="RocAucOneVsRest(ReadOnlySpan{int}, ReadOnlySpan{double}, int)"/>
    public static double[] RocAucOneVsRest(ReadOnlySpan<int> truth, ReadOnlySpan<float> scores, int classCount)
        => RocAucOneVsRest(truth, Widen(scores), classCount);

    /// <summary>The mean one-vs-rest ROC-AUC over the classes where it is defined (NaN when none is).</summary>
    /// <param name="truth">True class indices (length <c>N</c>).</param>
    /// <param name="scores">Row-major <c>N×K</c> scores, all finite.</param>
    /// <param name="classCount">Number of classes <c>K</c>.</param>
    /// <returns>The macro ROC-AUC, or NaN.</returns>
    /// <exception cref="ArgumentException">The score matrix is not <c>N×K</c>, a label is out of range, or a score is not finite.</exception>
    public static double MacroRocAuc(ReadOnlySpan<int> truth, ReadOnlySpan<double> scores, int classCount)
        => MeanDefined(RocAucOneVsRest(truth, scores, classCount));

    /// <inheritdoc cref="MacroRocAuc(ReadOnlySpan{int}, ReadOnlySpan{double}, int)"/>
    public static double MacroRocAuc(ReadOnlySpan<int> truth, ReadOnlySpan<float> scores, int classCount)
        => MeanDefined(RocAucOneVsRest(truth, scores, classCount));

    /// <summary>Every classification metric at once.</summary>
    /// <param name="truth">True class indices.</param>
    /// <param name="predicted">Predicted class indices (same length).</param>
    /// <param name="classCount">Number of classes <c>K</c>.</param>
    /// <param name="scores">Optional row-major <c>N×K</c> scores for ROC-AUC; empty to skip it (when the input is not empty).</param>
    /// <param name="classNames">Optional names of the <c>K</c> classes; default "0", "1", ….</param>
    /// <returns>The report.</returns>
    /// <exception cref="ArgumentException">Lengths differ, a label is out of range, a score is not finite, or the names are not <c>K</c>.</exception>
    public static ClassificationReport Report(ReadOnlySpan<int> truth, ReadOnlySpan<int> predicted, int classCount,
        ReadOnlySpan<double> scores = default, IReadOnlyList<string>? classNames = null)
    {
        var cm = ConfusionMatrix(truth, predicted, classCount);
        if (classNames is not null && classNames.Count != classCount)
            throw new ArgumentException($"'{nameof(classNames)}' has {classNames.Count} names but there are {classCount} classes.", nameof(classNames));
        var names = classNames?.ToArray() ?? Enumerable.Range(0, classCount).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        var (precision, recall, f1, support) = PerClass(cm);
        double[]? auc = scores.IsEmpty && truth.Length > 0 ? null : RocAucOneVsRest(truth, scores, classCount);
        return new ClassificationReport
        {
            ClassNames = names,
            Count = truth.Length,
            Accuracy = Accuracy(cm),
            BalancedAccuracy = BalancedAccuracy(cm),
            Precision = precision,
            Recall = recall,
            F1 = f1,
            Support = support,
            MacroF1 = MacroF1(cm),
            WeightedF1 = WeightedF1(cm),
            QuadraticKappa = CohenKappa(cm, KappaWeighting.Quadratic),
            ConfusionMatrix = cm,
            RocAuc = auc,
            MacroRocAuc = auc is null ? double.NaN : MeanDefined(auc),
        };
    }

    /// <inheritdoc cref="Report(ReadOnlySpan{int}, ReadOnlySpan{int}, int, ReadOnlySpan{double}, IReadOnlyList{string}?)"/>
    public static ClassificationReport Report(ReadOnlySpan<int> truth, ReadOnlySpan<int> predicted, int classCount,
        ReadOnlySpan<float> scores, IReadOnlyList<string>? classNames = null)
        => Report(truth, predicted, classCount, Widen(scores), classNames);

    // ---- ChangeLabel overloads ----

    /// <summary>The confusion matrix of change labels (index order worsened, stable, improved).</summary>
    /// <param name="truth">True change labels.</param>
    /// <param name="predicted">Predicted change labels (same length).</param>
    /// <returns>A 3×3 matrix, rows = truth, columns = prediction.</returns>
    /// <exception cref="ArgumentException">Lengths differ or a label is not a defined <see cref="ChangeLabel"/>.</exception>
    public static int[,] ConfusionMatrix(ReadOnlySpan<ChangeLabel> truth, ReadOnlySpan<ChangeLabel> predicted)
        => ConfusionMatrix(MetricInput.ToIndices(truth, nameof(truth)), MetricInput.ToIndices(predicted, nameof(predicted)), ChangeLabelCount);

    /// <summary>Accuracy of change labels.</summary>
    /// <param name="truth">True change labels.</param>
    /// <param name="predicted">Predicted change labels (same length).</param>
    /// <returns>The accuracy, NaN for empty input.</returns>
    /// <exception cref="ArgumentException">Lengths differ or a label is not a defined <see cref="ChangeLabel"/>.</exception>
    public static double Accuracy(ReadOnlySpan<ChangeLabel> truth, ReadOnlySpan<ChangeLabel> predicted)
        => Accuracy(ConfusionMatrix(truth, predicted));

    /// <summary>Balanced accuracy of change labels.</summary>
    /// <param name="truth">True change labels.</param>
    /// <param name="predicted">Predicted change labels (same length).</param>
    /// <returns>The balanced accuracy, NaN for empty input.</returns>
    /// <exception cref="ArgumentException">Lengths differ or a label is not a defined <see cref="ChangeLabel"/>.</exception>
    public static double BalancedAccuracy(ReadOnlySpan<ChangeLabel> truth, ReadOnlySpan<ChangeLabel> predicted)
        => BalancedAccuracy(ConfusionMatrix(truth, predicted));

    /// <summary>Macro F1 of change labels.</summary>
    /// <param name="truth">True change labels.</param>
    /// <param name="predicted">Predicted change labels (same length).</param>
    /// <returns>The macro F1, NaN for empty input.</returns>
    /// <exception cref="ArgumentException">Lengths differ or a label is not a defined <see cref="ChangeLabel"/>.</exception>
    public static double MacroF1(ReadOnlySpan<ChangeLabel> truth, ReadOnlySpan<ChangeLabel> predicted)
        => MacroF1(ConfusionMatrix(truth, predicted));

    /// <summary>Weighted F1 of change labels.</summary>
    /// <param name="truth">True change labels.</param>
    /// <param name="predicted">Predicted change labels (same length).</param>
    /// <returns>The weighted F1, NaN for empty input.</returns>
    /// <exception cref="ArgumentException">Lengths differ or a label is not a defined <see cref="ChangeLabel"/>.</exception>
    public static double WeightedF1(ReadOnlySpan<ChangeLabel> truth, ReadOnlySpan<ChangeLabel> predicted)
        => WeightedF1(ConfusionMatrix(truth, predicted));

    /// <summary>Cohen's kappa of change labels (ordinal: worsened &lt; stable &lt; improved).</summary>
    /// <param name="truth">True change labels.</param>
    /// <param name="predicted">Predicted change labels (same length).</param>
    /// <param name="weighting">Disagreement weights; quadratic by default.</param>
    /// <returns>The kappa, or NaN when undefined.</returns>
    /// <exception cref="ArgumentException">Lengths differ or a label is not a defined <see cref="ChangeLabel"/>.</exception>
    public static double CohenKappa(ReadOnlySpan<ChangeLabel> truth, ReadOnlySpan<ChangeLabel> predicted, KappaWeighting weighting = KappaWeighting.Quadratic)
        => CohenKappa(ConfusionMatrix(truth, predicted), weighting);

    /// <summary>Every classification metric for change labels, with the class names worsened, stable, improved.</summary>
    /// <param name="truth">True change labels.</param>
    /// <param name="predicted">Predicted change labels (same length).</param>
    /// <param name="scores">Optional row-major <c>N×3</c> scores (columns in <see cref="ChangeLabel"/> order); empty to skip ROC-AUC.</param>
    /// <returns>The report.</returns>
    /// <exception cref="ArgumentException">Lengths differ, a label is not defined, or a score is not finite.</exception>
    public static ClassificationReport Report(ReadOnlySpan<ChangeLabel> truth, ReadOnlySpan<ChangeLabel> predicted, ReadOnlySpan<double> scores = default)
        => Report(MetricInput.ToIndices(truth, nameof(truth)), MetricInput.ToIndices(predicted, nameof(predicted)), ChangeLabelCount, scores, ChangeLabelNames);

    /// <inheritdoc cref="Report(ReadOnlySpan{ChangeLabel}, ReadOnlySpan{ChangeLabel}, ReadOnlySpan{double})"/>
    public static ClassificationReport Report(ReadOnlySpan<ChangeLabel> truth, ReadOnlySpan<ChangeLabel> predicted, ReadOnlySpan<float> scores)
        => Report(truth, predicted, Widen(scores));

    // ---- from a confusion matrix ----

    private static void Validate(ReadOnlySpan<int> truth, ReadOnlySpan<int> predicted, int classCount)
    {
        MetricInput.ClassCount(classCount);
        MetricInput.SameLength(truth.Length, predicted.Length, nameof(truth), nameof(predicted));
        MetricInput.Labels(truth, classCount, nameof(truth));
        MetricInput.Labels(predicted, classCount, nameof(predicted));
    }

    private static double[] Widen(ReadOnlySpan<float> scores)
    {
        var d = new double[scores.Length];
        for (int i = 0; i < d.Length; i++) d[i] = scores[i];
        return d;
    }

    private static long Total(int[,] cm)
    {
        long n = 0;
        foreach (int v in cm) n += v;
        return n;
    }

    private static long RowSum(int[,] cm, int r)
    {
        long s = 0;
        for (int c = 0; c < cm.GetLength(1); c++) s += cm[r, c];
        return s;
    }

    private static long ColumnSum(int[,] cm, int c)
    {
        long s = 0;
        for (int r = 0; r < cm.GetLength(0); r++) s += cm[r, c];
        return s;
    }

    private static double Accuracy(int[,] cm)
    {
        long n = Total(cm);
        if (n == 0) return double.NaN;
        long correct = 0;
        for (int k = 0; k < cm.GetLength(0); k++) correct += cm[k, k];
        return (double)correct / n;
    }

    private static double BalancedAccuracy(int[,] cm)
    {
        double sum = 0;
        int present = 0;
        for (int k = 0; k < cm.GetLength(0); k++)
        {
            long support = RowSum(cm, k);
            if (support == 0) continue;
            sum += (double)cm[k, k] / support;
            present++;
        }
        return present == 0 ? double.NaN : sum / present;
    }

    private static (double[] Precision, double[] Recall, double[] F1, int[] Support) PerClass(int[,] cm)
    {
        int k = cm.GetLength(0);
        var precision = new double[k];
        var recall = new double[k];
        var f1 = new double[k];
        var support = new int[k];
        for (int c = 0; c < k; c++)
        {
            long tp = cm[c, c], truthCount = RowSum(cm, c), predictedCount = ColumnSum(cm, c);
            support[c] = (int)truthCount;
            precision[c] = predictedCount == 0 ? 0 : (double)tp / predictedCount;
            recall[c] = truthCount == 0 ? 0 : (double)tp / truthCount;
            double pr = precision[c] + recall[c];
            f1[c] = pr == 0 ? 0 : 2 * precision[c] * recall[c] / pr;
        }
        return (precision, recall, f1, support);
    }

    private static double MacroF1(int[,] cm)
    {
        var (_, _, f1, _) = PerClass(cm);
        double sum = 0;
        int counted = 0;
        for (int c = 0; c < f1.Length; c++)
        {
            if (RowSum(cm, c) == 0 && ColumnSum(cm, c) == 0) continue;
            sum += f1[c];
            counted++;
        }
        return counted == 0 ? double.NaN : sum / counted;
    }

    private static double WeightedF1(int[,] cm)
    {
        var (_, _, f1, support) = PerClass(cm);
        long n = Total(cm);
        if (n == 0) return double.NaN;
        double sum = 0;
        for (int c = 0; c < f1.Length; c++) sum += f1[c] * support[c];
        return sum / n;
    }

    private static double CohenKappa(int[,] cm, KappaWeighting weighting)
    {
        if (!Enum.IsDefined(weighting)) throw new ArgumentException($"Unknown kappa weighting {(int)weighting}.", nameof(weighting));
        int k = cm.GetLength(0);
        long n = Total(cm);
        if (n == 0) return double.NaN;
        var rows = new double[k];
        var cols = new double[k];
        for (int c = 0; c < k; c++) { rows[c] = RowSum(cm, c); cols[c] = ColumnSum(cm, c); }
        double observed = 0, expected = 0;
        for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++)
        {
            double w = weighting switch
            {
                KappaWeighting.Unweighted => i == j ? 0 : 1,
                KappaWeighting.Linear => Math.Abs(i - j),
                _ => (double)(i - j) * (i - j),
            };
            observed += w * cm[i, j];
            expected += w * rows[i] * cols[j] / n;
        }
        return expected == 0 ? double.NaN : 1 - observed / expected;
    }

    private static double MeanDefined(double[] values)
    {
        double sum = 0;
        int count = 0;
        foreach (double v in values)
            if (!double.IsNaN(v)) { sum += v; count++; }
        return count == 0 ? double.NaN : sum / count;
    }
}
