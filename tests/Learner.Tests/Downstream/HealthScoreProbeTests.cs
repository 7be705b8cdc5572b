using System.Text.Json;
using Learner.Downstream;
using Learner.Metrics;

namespace Learner.Tests.Downstream;

/// <summary>The health-score probe and R² against scikit-learn (Fixtures/probe.json, written by
/// Fixtures/generate_probe_fixtures.py: StandardScaler + Ridge and r2_score), and its refusals of bad input.</summary>
public class HealthScoreProbeTests
{
    private static readonly Lazy<JsonElement> Fixtures = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Downstream", "Fixtures", "probe.json"))).RootElement);

    public static IEnumerable<object[]> ProbeCases() => Names("probe");

    public static IEnumerable<object[]> R2Cases() => Names("r2");

    private static IEnumerable<object[]> Names(string section) =>
        Fixtures.Value.GetProperty(section).EnumerateArray().Select(e => new object[] { e.GetProperty("name").GetString()! });

    private static JsonElement Case(string section, string name) =>
        Fixtures.Value.GetProperty(section).EnumerateArray().Single(e => e.GetProperty("name").GetString() == name);

    private static double[] Doubles(JsonElement e, string p) => e.GetProperty(p).EnumerateArray().Select(x => x.GetDouble()).ToArray();

    [Theory]
    [MemberData(nameof(ProbeCases))]
    public void Matches_scikit_learn_standard_scaler_and_ridge(string name)
    {
        var c = Case("probe", name);
        var x = c.GetProperty("embeddings").EnumerateArray().Select(v => (float)v.GetDouble()).ToArray();
        var y = Doubles(c, "scores");
        var train = c.GetProperty("train").EnumerateArray().Select(v => v.GetInt32()).ToArray();
        var target = c.GetProperty("target").EnumerateArray().Select(v => v.GetInt32()).ToArray();
        int d = c.GetProperty("dimension").GetInt32();
        var probe = HealthScoreProbe.Fit(x, d, y, train, c.GetProperty("alpha").GetDouble());

        probe.TrainingRows.Should().Be(train.Length);
        var expected = Doubles(c, "predictions");
        var predicted = probe.Predict(x, Enumerable.Range(0, y.Length).ToArray());
        double scale = expected.Max(Math.Abs);
        for (int i = 0; i < expected.Length; i++)
            predicted[i].Should().BeApproximately(expected[i], 1e-9 * scale, $"{name}: row {i}");
        var coefficients = Doubles(c, "coefficients");
        double wScale = Math.Max(1, coefficients.Max(Math.Abs));
        for (int j = 0; j < d; j++)
            probe.Coefficients[j].Should().BeApproximately(coefficients[j], 1e-9 * wScale, $"{name}: coefficient {j}");
        probe.Intercept.Should().BeApproximately(c.GetProperty("intercept").GetDouble(), 1e-9 * scale);
        probe.RSquared(x, y, target).Should().BeApproximately(c.GetProperty("r2_target").GetDouble(), 1e-9, name);
    }

    [Theory]
    [MemberData(nameof(R2Cases))]
    public void R_squared_matches_scikit_learn(string name)
    {
        var c = Case("r2", name);
        Regression.RSquared(Doubles(c, "truth"), Doubles(c, "predicted")).Should().BeApproximately(c.GetProperty("r2").GetDouble(), 1e-12, name);
    }

    [Fact]
    public void R_squared_is_undefined_for_constant_targets_and_refuses_bad_input()
    {
        Regression.RSquared(new[] { 2.0, 2.0, 2.0 }, new[] { 2.0, 1.0, 3.0 }).Should().Be(double.NaN);
        FluentActions.Invoking(() => Regression.RSquared(Array.Empty<double>(), Array.Empty<double>())).Should().Throw<ArgumentException>().WithMessage("*empty*");
        FluentActions.Invoking(() => Regression.RSquared(new[] { 1.0, 2.0 }, new[] { 1.0 })).Should().Throw<ArgumentException>().WithMessage("*2 targets, 1 predictions*");
        FluentActions.Invoking(() => Regression.RSquared(new[] { 1.0, double.NaN }, new[] { 1.0, 2.0 })).Should().Throw<ArgumentException>().WithMessage("Target 1 is NaN*");
        FluentActions.Invoking(() => Regression.RSquared(new[] { 1.0, 2.0 }, new[] { double.PositiveInfinity, 2.0 })).Should().Throw<ArgumentException>().WithMessage("Prediction 0 is *finite predictions*");
    }

    [Fact]
    public void Recovers_a_linear_score_and_ignores_rows_it_is_not_given()
    {
        // y = 3·e₀ − e₁ + 10 on 40 rows; the last 10 rows carry wild scores that must not reach the fit.
        var rng = new Learner.Nn.Rng(5);
        var x = new float[40 * 3];
        var y = new double[40];
        for (int i = 0; i < 40; i++)
        {
            for (int j = 0; j < 3; j++) x[i * 3 + j] = (float)rng.NextGaussian();
            y[i] = i < 30 ? 3 * x[i * 3] - x[i * 3 + 1] + 10 : 1e6;
        }
        var train = Enumerable.Range(0, 30).ToArray();
        var probe = HealthScoreProbe.Fit(x, 3, y, train, alpha: 1e-6);
        probe.RSquared(x, y, train).Should().BeGreaterThan(0.999999);
        probe.Predict(new float[] { 1, 0, 0 }).Should().BeApproximately(13, 1e-3);
        var wild = HealthScoreProbe.Fit(x, 3, y.Select((v, i) => i < 30 ? v : -v).ToArray(), train, alpha: 1e-6);
        wild.Coefficients.Should().Equal(probe.Coefficients, "rows outside the training rows do not reach the fit");
    }

    [Fact]
    public void Refuses_bad_input_naming_the_row()
    {
        var x = new float[] { 1, 2, 3, 4, 5, 6 };
        var y = new[] { 1.0, 2.0, 3.0 };
        var rows = new[] { 0, 1, 2 };
        FluentActions.Invoking(() => HealthScoreProbe.Fit(x, 4, y, rows)).Should().Throw<ArgumentException>().WithMessage("*not a whole number of 4-dimensional rows*");
        FluentActions.Invoking(() => HealthScoreProbe.Fit(x, 2, new[] { 1.0, 2.0 }, rows)).Should().Throw<ArgumentException>().WithMessage("*3 rows but 2 scores*");
        FluentActions.Invoking(() => HealthScoreProbe.Fit(x, 2, y, new[] { 0 })).Should().Throw<ArgumentException>().WithMessage("*at least 2 training rows; 1 given*");
        FluentActions.Invoking(() => HealthScoreProbe.Fit(x, 2, y, new[] { 0, 3 })).Should().Throw<ArgumentOutOfRangeException>().WithMessage("*Training row 3 is outside the 3 rows*");
        FluentActions.Invoking(() => HealthScoreProbe.Fit(x, 2, new[] { 1.0, double.NaN, 3.0 }, rows)).Should().Throw<ArgumentException>().WithMessage("Training row 1 has score NaN*");
        var bad = (float[])x.Clone();
        bad[5] = float.NaN;
        FluentActions.Invoking(() => HealthScoreProbe.Fit(bad, 2, y, rows)).Should().Throw<ArgumentException>().WithMessage("Training row 2 has embedding value NaN at feature 1*");
        FluentActions.Invoking(() => HealthScoreProbe.Fit(x, 2, y, rows, alpha: 0)).Should().Throw<ArgumentOutOfRangeException>().WithMessage("*positive*");
        // A NaN score outside the training rows is not the probe's business.
        var probe = HealthScoreProbe.Fit(x, 2, new[] { 1.0, 2.0, double.NaN }, new[] { 0, 1 });
        FluentActions.Invoking(() => probe.Predict(new float[] { 1 })).Should().Throw<ArgumentException>().WithMessage("*2-dimensional*1 values*");
        FluentActions.Invoking(() => probe.Predict(x, new[] { 7 })).Should().Throw<ArgumentOutOfRangeException>().WithMessage("*Row 7 is outside the 3 rows*");
    }
}
