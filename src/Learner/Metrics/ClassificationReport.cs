using System.Globalization;
using System.Text;

namespace Learner.Metrics;

/// <summary>Every classification metric of one set of predictions (see <see cref="Classification"/> for the definitions and degenerate cases).</summary>
public sealed record ClassificationReport
{
    /// <summary>Names of the <c>K</c> classes in index order.</summary>
    public required IReadOnlyList<string> ClassNames { get; init; }

    /// <summary>Number of items.</summary>
    public required int Count { get; init; }

    /// <summary>Fraction predicted correctly (NaN when empty).</summary>
    public required double Accuracy { get; init; }

    /// <summary>Mean recall over the classes present in the truth (NaN when empty).</summary>
    public required double BalancedAccuracy { get; init; }

    /// <summary>Per-class precision (0 where the class is never predicted).</summary>
    public required IReadOnlyList<double> Precision { get; init; }

    /// <summary>Per-class recall (0 where the class is absent from the truth).</summary>
    public required IReadOnlyList<double> Recall { get; init; }

    /// <summary>Per-class F1 (0 where precision and recall are both 0).</summary>
    public required IReadOnlyList<double> F1 { get; init; }

    /// <summary>Per-class number of true items.</summary>
    public required IReadOnlyList<int> Support { get; init; }

    /// <summary>Mean F1 over the classes occurring in the truth or the predictions.</summary>
    public required double MacroF1 { get; init; }

    /// <summary>Support-weighted mean F1.</summary>
    public required double WeightedF1 { get; init; }

    /// <summary>Quadratically weighted Cohen's kappa over class indices (NaN when undefined).</summary>
    public required double QuadraticKappa { get; init; }

    /// <summary>Confusion matrix, rows = truth, columns = prediction.</summary>
    public required int[,] ConfusionMatrix { get; init; }

    /// <summary>One-vs-rest ROC-AUC per class (NaN where a class has no positives or no negatives); null when no scores were given.</summary>
    public IReadOnlyList<double>? RocAuc { get; init; }

    /// <summary>Mean of the defined per-class ROC-AUCs; NaN when none is defined or no scores were given.</summary>
    public double MacroRocAuc { get; init; } = double.NaN;

    /// <summary>A readable table: per-class rows, the averages, and the confusion matrix.</summary>
    /// <returns>The table, invariant culture, four decimals.</returns>
    public override string ToString()
    {
        static string F(double v) => double.IsNaN(v) ? "n/a" : v.ToString("0.0000", CultureInfo.InvariantCulture);
        int k = ClassNames.Count;
        int w = Math.Max(12, ClassNames.Max(n => n.Length) + 2);
        var sb = new StringBuilder();
        sb.Append("class".PadRight(w)).Append("precision".PadLeft(10)).Append("recall".PadLeft(10))
          .Append("f1".PadLeft(10)).Append("support".PadLeft(9));
        if (RocAuc is not null) sb.Append("roc-auc".PadLeft(10));
        sb.AppendLine();
        for (int c = 0; c < k; c++)
        {
            sb.Append(ClassNames[c].PadRight(w)).Append(F(Precision[c]).PadLeft(10)).Append(F(Recall[c]).PadLeft(10))
              .Append(F(F1[c]).PadLeft(10)).Append(Support[c].ToString(CultureInfo.InvariantCulture).PadLeft(9));
            if (RocAuc is not null) sb.Append(F(RocAuc[c]).PadLeft(10));
            sb.AppendLine();
        }
        sb.AppendLine();
        sb.Append("accuracy".PadRight(20)).Append(F(Accuracy)).Append("   (n = ").Append(Count.ToString(CultureInfo.InvariantCulture)).AppendLine(")");
        sb.Append("balanced accuracy".PadRight(20)).AppendLine(F(BalancedAccuracy));
        sb.Append("macro F1".PadRight(20)).AppendLine(F(MacroF1));
        sb.Append("weighted F1".PadRight(20)).AppendLine(F(WeightedF1));
        sb.Append("quadratic kappa".PadRight(20)).AppendLine(F(QuadraticKappa));
        if (RocAuc is not null) sb.Append("macro ROC-AUC".PadRight(20)).AppendLine(F(MacroRocAuc));
        sb.AppendLine();
        sb.AppendLine("confusion matrix (rows = truth, columns = predicted)");
        int cw = Math.Max(8, w - 2);
        sb.Append(string.Empty.PadRight(w));
        for (int c = 0; c < k; c++) sb.Append(Truncate(ClassNames[c], cw).PadLeft(cw + 1));
        sb.AppendLine();
        for (int r = 0; r < k; r++)
        {
            sb.Append(ClassNames[r].PadRight(w));
            for (int c = 0; c < k; c++) sb.Append(ConfusionMatrix[r, c].ToString(CultureInfo.InvariantCulture).PadLeft(cw + 1));
            sb.AppendLine();
        }
        return sb.ToString();
    }

    private static string Truncate(string s, int max) => s.Length <= max ? s : s[..max];
}
