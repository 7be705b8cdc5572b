using Learner.Data;
using Learner.Metrics;
using static Learner.Tests.Metrics.MetricFixtures;

namespace Learner.Tests.Metrics;

public class ClassificationTests
{
    public static IEnumerable<object[]> Cases => CaseNames("classification");

    [Theory]
    [MemberData(nameof(Cases))]
    public void Report_matches_scikit_learn(string name)
    {
        var c = Case("classification", name);
        int k = c.GetProperty("k").GetInt32();
        var truth = Ints(c, "truth");
        var predicted = Ints(c, "predicted");
        bool hasScores = c.TryGetProperty("scores", out _);
        var report = hasScores
            ? Classification.Report(truth, predicted, k, Numbers(c, "scores"))
            : Classification.Report(truth, predicted, k);

        ShouldMatch(report.Accuracy, Number(c, "accuracy"), "accuracy");
        ShouldMatch(report.BalancedAccuracy, Number(c, "balanced_accuracy"), "balanced accuracy");
        ShouldMatch(report.Precision, Numbers(c, "precision"), "precision");
        ShouldMatch(report.Recall, Numbers(c, "recall"), "recall");
        ShouldMatch(report.F1, Numbers(c, "f1"), "f1");
        report.Support.Should().Equal(Ints(c, "support"));
        ShouldMatch(report.MacroF1, Number(c, "macro_f1"), "macro F1");
        ShouldMatch(report.WeightedF1, Number(c, "weighted_f1"), "weighted F1");
        ShouldMatch(report.QuadraticKappa, Number(c, "kappa_quadratic"), "quadratic kappa");
        ShouldMatch(Classification.CohenKappa(truth, predicted, k, KappaWeighting.Linear), Number(c, "kappa_linear"), "linear kappa");
        ShouldMatch(Classification.CohenKappa(truth, predicted, k, KappaWeighting.Unweighted), Number(c, "kappa_unweighted"), "kappa");
        var cm = c.GetProperty("confusion").EnumerateArray().Select(r => r.EnumerateArray().Select(x => x.GetInt32()).ToArray()).ToArray();
        for (int t = 0; t < k; t++)
        for (int p = 0; p < k; p++)
            report.ConfusionMatrix[t, p].Should().Be(cm[t][p], $"confusion[{t},{p}]");
        if (hasScores)
        {
            ShouldMatch(report.RocAuc!, Numbers(c, "roc_auc"), "ROC-AUC");
            ShouldMatch(report.MacroRocAuc, Number(c, "macro_roc_auc"), "macro ROC-AUC");
        }
        else
        {
            report.RocAuc.Should().BeNull();
            report.MacroRocAuc.Should().Be(double.NaN);
        }
    }

    [Fact]
    public void Standalone_methods_agree_with_the_report()
    {
        var c = Case("classification", "random5");
        var truth = Ints(c, "truth");
        var predicted = Ints(c, "predicted");
        var report = Classification.Report(truth, predicted, 5);
        Classification.Accuracy(truth, predicted, 5).Should().Be(report.Accuracy);
        Classification.BalancedAccuracy(truth, predicted, 5).Should().Be(report.BalancedAccuracy);
        Classification.MacroF1(truth, predicted, 5).Should().Be(report.MacroF1);
        Classification.WeightedF1(truth, predicted, 5).Should().Be(report.WeightedF1);
        Classification.CohenKappa(truth, predicted, 5).Should().Be(report.QuadraticKappa);
        var (precision, recall, f1, support) = Classification.PerClass(truth, predicted, 5);
        precision.Should().Equal(report.Precision);
        recall.Should().Equal(report.Recall);
        f1.Should().Equal(report.F1);
        support.Should().Equal(report.Support);
    }

    [Fact]
    public void Macro_roc_auc_equals_scikit_learn_multiclass_ovr_when_every_class_is_defined()
    {
        foreach (var name in new[] { "random3", "random5" })
        {
            var c = Case("classification", name);
            int k = c.GetProperty("k").GetInt32();
            ShouldMatch(Classification.MacroRocAuc(Ints(c, "truth"), Numbers(c, "normalised_scores"), k),
                Number(c, "sklearn_ovr_macro_on_normalised"), name);
        }
    }

    [Fact]
    public void Float_scores_give_the_same_auc_as_their_double_widening()
    {
        var rng = new Learner.Nn.Rng(7);
        int n = 50, k = 3;
        var truth = Enumerable.Range(0, n).Select(_ => rng.NextInt(k)).ToArray();
        var scores = new float[n * k];
        rng.FillUniform(scores, 0, 1);
        var wide = scores.Select(v => (double)v).ToArray();
        Classification.RocAucOneVsRest(truth, scores, k).Should().Equal(Classification.RocAucOneVsRest(truth, wide, k));
    }

    [Fact]
    public void Auc_is_one_for_perfectly_separating_scores_and_a_half_for_constant_scores()
    {
        int[] truth = [0, 1, 2, 0, 1, 2];
        var perfect = new double[18];
        for (int i = 0; i < 6; i++) perfect[i * 3 + truth[i]] = 1;
        Classification.RocAucOneVsRest(truth, perfect, 3).Should().Equal(1.0, 1.0, 1.0);
        Classification.RocAucOneVsRest(truth, new double[18], 3).Should().Equal(0.5, 0.5, 0.5);
    }

    [Fact]
    public void Change_label_overloads_map_to_indices_in_enum_order()
    {
        ChangeLabel[] truth = [ChangeLabel.Worsened, ChangeLabel.Stable, ChangeLabel.Improved, ChangeLabel.Improved, ChangeLabel.Stable];
        ChangeLabel[] predicted = [ChangeLabel.Worsened, ChangeLabel.Improved, ChangeLabel.Improved, ChangeLabel.Stable, ChangeLabel.Stable];
        int[] t = [0, 1, 2, 2, 1];
        int[] p = [0, 2, 2, 1, 1];
        var report = Classification.Report(truth, predicted);
        report.ClassNames.Should().Equal("worsened", "stable", "improved");
        report.Should().BeEquivalentTo(Classification.Report(t, p, 3, classNames: Classification.ChangeLabelNames));
        Classification.Accuracy(truth, predicted).Should().Be(0.6);
        Classification.CohenKappa(truth, predicted).Should().Be(Classification.CohenKappa(t, p, 3));
        Classification.MacroF1(truth, predicted).Should().Be(Classification.MacroF1(t, p, 3));
        Classification.ConfusionMatrix(truth, predicted)[1, 2].Should().Be(1);
    }

    [Fact]
    public void Empty_input_gives_nan_scalars_and_zero_counts()
    {
        var report = Classification.Report(ReadOnlySpan<int>.Empty, ReadOnlySpan<int>.Empty, 3);
        report.Accuracy.Should().Be(double.NaN);
        report.BalancedAccuracy.Should().Be(double.NaN);
        report.MacroF1.Should().Be(double.NaN);
        report.WeightedF1.Should().Be(double.NaN);
        report.QuadraticKappa.Should().Be(double.NaN);
        report.Support.Should().Equal(0, 0, 0);
        report.RocAuc.Should().Equal(double.NaN, double.NaN, double.NaN);
    }

    [Fact]
    public void ToString_lists_every_class_and_the_averages()
    {
        var report = Classification.Report([0, 1, 2, 2], [0, 1, 1, 2], 3, [0.9, 0.05, 0.05, 0.1, 0.8, 0.1, 0.2, 0.5, 0.3, 0.1, 0.1, 0.8], ["worse", "same", "better"]);
        var text = report.ToString();
        text.Should().Contain("worse").And.Contain("same").And.Contain("better");
        text.Should().Contain("accuracy            0.7500");
        text.Should().Contain("macro F1").And.Contain("quadratic kappa").And.Contain("macro ROC-AUC");
        text.Should().Contain("confusion matrix");
        text.Split('\n').Should().Contain(l => l.StartsWith("better") && l.TrimEnd().EndsWith("1"));
    }

    [Fact]
    public void Mismatched_lengths_are_rejected_naming_both_arguments()
    {
        var act = () => Classification.Accuracy([0, 1, 2], [0, 1], 3);
        act.Should().Throw<ArgumentException>().Where(e => e.ParamName == "predicted" && e.Message.Contains('3') && e.Message.Contains("truth"));
    }

    [Fact]
    public void Labels_outside_the_class_range_are_rejected_with_index_and_value()
    {
        var act = () => Classification.MacroF1([0, 1, 2], [0, 3, 1], 3);
        act.Should().Throw<ArgumentException>().Where(e => e.ParamName == "predicted" && e.Message.Contains("[1] = 3") && e.Message.Contains("0..2"));
        var negative = () => Classification.ConfusionMatrix([0, -1], [0, 0], 2);
        negative.Should().Throw<ArgumentException>().Where(e => e.ParamName == "truth" && e.Message.Contains("[1] = -1"));
        var undefined = () => Classification.Accuracy([ChangeLabel.Stable], [(ChangeLabel)7]);
        undefined.Should().Throw<ArgumentException>().Where(e => e.ParamName == "predicted" && e.Message.Contains("[0] = 7"));
    }

    [Fact]
    public void Non_finite_or_misshapen_scores_are_rejected()
    {
        var nan = () => Classification.RocAucOneVsRest([0, 1], [0.1, 0.9, double.NaN, 0.5], 2);
        nan.Should().Throw<ArgumentException>().Where(e => e.ParamName == "scores" && e.Message.Contains("[2] = NaN"));
        var floatInf = () => Classification.MacroRocAuc([0, 1], [0.1f, float.PositiveInfinity, 0.2f, 0.5f], 2);
        floatInf.Should().Throw<ArgumentException>().Where(e => e.ParamName == "scores" && e.Message.Contains("[1] = Infinity"));
        var shape = () => Classification.RocAucOneVsRest([0, 1], [0.1, 0.9, 0.5], 2);
        shape.Should().Throw<ArgumentException>().Where(e => e.ParamName == "scores" && e.Message.Contains("N = 2"));
        var names = () => Classification.Report([0], [0], 2, classNames: ["only one"]);
        names.Should().Throw<ArgumentException>().Where(e => e.ParamName == "classNames");
        var k = () => Classification.Accuracy([0], [0], 0);
        k.Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "classCount");
    }
}
