using Learner.Metrics;
using static Learner.Tests.Metrics.MetricFixtures;

namespace Learner.Tests.Metrics;

public class AlignmentTests
{
    public static IEnumerable<object[]> Cases => CaseNames("correlation");

    [Theory]
    [MemberData(nameof(Cases))]
    public void Correlations_match_scipy(string name)
    {
        var c = Case("correlation", name);
        var x = Numbers(c, "x");
        var y = Numbers(c, "y");
        ShouldMatch(Correlations.Pearson(x, y), Number(c, "pearson"), "Pearson");
        ShouldMatch(Correlations.Spearman(x, y), Number(c, "spearman"), "Spearman");
        ShouldMatch(Correlations.KendallTauB(x, y), Number(c, "kendall"), "Kendall");
    }

    [Fact]
    public void Kendall_tau_b_equals_the_quadratic_definition_on_random_tied_data()
    {
        var rng = new Learner.Nn.Rng(11);
        for (int trial = 0; trial < 40; trial++)
        {
            int n = 2 + rng.NextInt(60);
            int levels = 1 + rng.NextInt(8);
            var x = Enumerable.Range(0, n).Select(_ => (double)rng.NextInt(levels)).ToArray();
            var y = Enumerable.Range(0, n).Select(_ => (double)rng.NextInt(levels + 2)).ToArray();
            ShouldMatch(Correlations.KendallTauB(x, y), QuadraticTauB(x, y), $"trial {trial}", 1e-12);
        }
    }

    private static double QuadraticTauB(double[] x, double[] y)
    {
        long concordant = 0, discordant = 0, xOnly = 0, yOnly = 0;
        for (int i = 0; i < x.Length; i++)
        for (int j = i + 1; j < x.Length; j++)
        {
            int sx = Math.Sign(x[i] - x[j]), sy = Math.Sign(y[i] - y[j]);
            if (sx == 0 && sy == 0) continue;
            if (sx == 0) xOnly++;
            else if (sy == 0) yOnly++;
            else if (sx == sy) concordant++;
            else discordant++;
        }
        double denominator = Math.Sqrt((double)(concordant + discordant + xOnly) * (concordant + discordant + yOnly));
        return denominator == 0 ? double.NaN : (concordant - discordant) / denominator;
    }

    [Fact]
    public void Compute_matches_scipy_distances_and_correlations()
    {
        var a = Section("alignment");
        var pairs = a.GetProperty("pairs").EnumerateArray().Select(p => (p[0].GetInt32(), p[1].GetInt32())).ToArray();
        var report = Alignment.Compute(Floats(a, "embeddings"), a.GetProperty("d").GetInt32(), pairs, Numbers(a, "abs_delta"));
        report.Count.Should().Be(pairs.Length);
        ShouldMatch(report.Distances, Numbers(a, "distances"), "cosine distance", 1e-12);
        ShouldMatch(report.Pearson, Number(a, "pearson"), "Pearson");
        ShouldMatch(report.Spearman, Number(a, "spearman"), "Spearman");
        ShouldMatch(report.Kendall, Number(a, "kendall"), "Kendall");
        report.ToString().Should().Contain($"n = {pairs.Length}").And.Contain("Spearman");
    }

    [Fact]
    public void Constant_distances_give_nan_correlations()
    {
        float[] embeddings = [1, 0, 0, 1, 2, 0, 0, 2];
        var report = Alignment.Compute(embeddings, 2, [(0, 1), (2, 3), (0, 3)], [0.1, 0.5, 0.9]);
        report.Distances.Should().Equal(1.0, 1.0, 1.0);
        report.Pearson.Should().Be(double.NaN);
        report.Spearman.Should().Be(double.NaN);
        report.Kendall.Should().Be(double.NaN);
        var single = Alignment.Compute(embeddings, 2, [(0, 1)], [0.3]);
        single.Spearman.Should().Be(double.NaN);
        var none = Alignment.Compute(embeddings, 2, ReadOnlySpan<(int, int)>.Empty, ReadOnlySpan<double>.Empty);
        none.Count.Should().Be(0);
        none.Pearson.Should().Be(double.NaN);
    }

    [Fact]
    public void Bad_inputs_are_rejected_naming_argument_index_and_value()
    {
        float[] e = [1, 0, 0, 1, 0, 0];
        FluentActions.Invoking(() => Alignment.Compute(e, 2, [(0, 3)], [0.1]))
            .Should().Throw<ArgumentException>().Where(x => x.ParamName == "pairs" && x.Message.Contains("[0] = (0, 3)") && x.Message.Contains("0..2"));
        FluentActions.Invoking(() => Alignment.Compute(e, 2, [(0, 2)], [0.1]))
            .Should().Throw<ArgumentException>().Where(x => x.ParamName == "pairs" && x.Message.Contains("row 2"));
        FluentActions.Invoking(() => Alignment.Compute(e, 4, [(0, 1)], [0.1]))
            .Should().Throw<ArgumentException>().Where(x => x.ParamName == "embeddings" && x.Message.Contains('6'));
        FluentActions.Invoking(() => Alignment.Compute(e, 2, [(0, 1), (1, 0)], [0.1]))
            .Should().Throw<ArgumentException>().Where(x => x.ParamName == "absDeltaScores");
        FluentActions.Invoking(() => Alignment.Compute(e, 2, [(0, 1)], [-0.5]))
            .Should().Throw<ArgumentException>().Where(x => x.ParamName == "absDeltaScores" && x.Message.Contains("[0] = -0.5"));
        FluentActions.Invoking(() => Alignment.Compute([1, float.NaN, 0, 1], 2, [(0, 1)], [0.1]))
            .Should().Throw<ArgumentException>().Where(x => x.ParamName == "embeddings" && x.Message.Contains("[1] = NaN"));
        FluentActions.Invoking(() => Correlations.Spearman([1, 2, 3], [1, double.NaN, 3]))
            .Should().Throw<ArgumentException>().Where(x => x.ParamName == "y" && x.Message.Contains("[1] = NaN"));
        FluentActions.Invoking(() => Correlations.KendallTauB([1, 2, 3], [1, 2]))
            .Should().Throw<ArgumentException>().Where(x => x.ParamName == "y");
    }
}
