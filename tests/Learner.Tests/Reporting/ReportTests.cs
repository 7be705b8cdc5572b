using System.Xml.Linq;
using Learner.Data;
using Learner.Encoders;
using Learner.Experiments;
using Learner.Metrics;
using Learner.Nn;
using Learner.Reporting;
using Learner.Training;

namespace Learner.Tests.Reporting;

public class ReportTests
{
    private static XElement Parse(string svg) => XElement.Parse(svg);

    [Theory]
    [InlineData(0, 1, 0.2)]
    [InlineData(0.013, 0.987, 0.2)]
    [InlineData(-3.7, 12.2, 5)]
    [InlineData(1234, 98765, 20000)]
    [InlineData(1e-7, 3e-7, 5e-8)]
    public void Ticks_are_nice_steps_covering_the_range(double min, double max, double expectedStep)
    {
        var (low, high, ticks) = AxisTicks.Nice(min, max, 5);
        low.Should().BeLessThanOrEqualTo(min);
        high.Should().BeGreaterThanOrEqualTo(max);
        ticks.Should().BeInAscendingOrder().And.HaveCountGreaterThan(1);
        (ticks[1] - ticks[0]).Should().BeApproximately(expectedStep, expectedStep * 1e-9);
        ticks[0].Should().BeApproximately(low, expectedStep * 1e-9);
        ticks[^1].Should().BeApproximately(high, expectedStep * 1e-9);
    }

    [Theory]
    [InlineData(5, 5)]
    [InlineData(0, 0)]
    [InlineData(double.NaN, 3)]
    [InlineData(double.NegativeInfinity, double.PositiveInfinity)]
    public void Degenerate_ranges_still_give_an_axis(double min, double max)
    {
        var (low, high, ticks) = AxisTicks.Nice(min, max);
        high.Should().BeGreaterThan(low);
        ticks.Should().OnlyContain(t => double.IsFinite(t));
    }

    [Fact]
    public void Charts_are_well_formed_xml_and_escape_hostile_names()
    {
        const string hostile = "<script>alert('x')</script> & \"quoted\"";
        var charts = new[]
        {
            Charts.Line(hostile, "step", "loss", new[] { new ChartSeries(hostile, new[] { 3.0, 2.0, double.NaN, 1.5, 1.2 }) }),
            Charts.Scatter(hostile, "|Δscore|", "distance", new[] { 0.0, 1, 2, double.NaN }, new[] { 0.1, 0.3, 0.2, 0.5 }),
            Charts.Confusion(hostile, new int[,] { { 5, 1, 0 }, { 2, 9, 1 }, { 0, 3, 4 } }, new[] { "worsened", hostile, "improved" }),
            Charts.IntervalBars(hostile, "F1", new[] { new ChartInterval(hostile, 0.6, 0.5, 0.7), new ChartInterval("b", double.NaN, double.NaN, double.NaN) }),
        };
        foreach (var svg in charts)
        {
            var root = Parse(svg);
            root.Name.LocalName.Should().Be("svg");
            svg.Should().NotContain("<script>").And.NotContain("NaN").And.NotContain("Infinity");
            root.Descendants().Where(e => e.Name.LocalName == "title").Select(e => e.Value).Should().Contain(hostile, "escaped text round-trips through an XML parser");
        }
    }

    [Fact]
    public void Control_characters_and_lone_surrogates_cannot_break_the_xml()
    {
        string nasty = "a\u0001b\u001Fc\uD800d\uFFFEe 😀 & <x>";
        var root = Parse(Charts.Line(nasty, nasty, nasty, new[] { new ChartSeries(nasty, new[] { 1.0, 2.0 }) }));
        root.Descendants().Where(e => e.Name.LocalName == "title").Select(e => e.Value).Should().Contain("a\uFFFDb\uFFFDc\uFFFDd\uFFFDe 😀 & <x>");
    }

    [Fact]
    public void Empty_and_all_nan_inputs_give_a_no_data_chart()
    {
        foreach (var svg in new[]
        {
            Charts.Line("t", "x", "y", Array.Empty<ChartSeries>()),
            Charts.Line("t", "x", "y", new[] { new ChartSeries("a", new[] { double.NaN, double.NaN }) }),
            Charts.Scatter("t", "x", "y", Array.Empty<double>(), Array.Empty<double>()),
            Charts.IntervalBars("t", "y", Array.Empty<ChartInterval>()),
        })
        {
            Parse(svg);
            svg.Should().Contain("no data");
        }
        FluentActions.Invoking(() => Charts.Scatter("t", "x", "y", new[] { 1.0 }, new[] { 1.0, 2.0 })).Should().Throw<ArgumentException>().WithMessage("*1*2*");
        FluentActions.Invoking(() => Charts.Confusion("t", new int[2, 3], new[] { "a", "b" })).Should().Throw<ArgumentException>().WithMessage("*2×3*");
    }

    [Fact]
    public void Scatter_draws_at_most_the_requested_points_and_a_trend_line()
    {
        var x = Enumerable.Range(0, 5000).Select(i => i / 100.0).ToArray();
        var y = x.Select(v => 0.1 * v + 0.01 * Math.Sin(v * 7)).ToArray();
        var svg = Parse(Charts.Scatter("t", "x", "y", x, y, maxPoints: 400));
        svg.Descendants().Count(e => e.Name.LocalName == "circle").Should().BeInRange(390, 400);
        svg.Descendants().Count(e => e.Name.LocalName == "line" && (string?)e.Attribute("stroke") == Charts.Palette[3]).Should().Be(1);
    }

    [Fact]
    public void The_report_of_a_real_experiment_has_every_section_per_objective()
    {
        var options = new ExperimentOptions
        {
            ChangeThresholds = ChangeThresholds.Absolute(20),
            Objectives = new[] { "mse", "weighted-contrastive" },
            Seeds = new[] { 1, 2 },
            Encoder = new EncoderOptions { Architecture = "mlp", InputFeatures = 3, EmbeddingDimension = 4, WidthMultiplier = 0.05 },
            Pretraining = new PretrainingOptions { Epochs = 1, StepsPerEpoch = 6 },
            BatchSource = new BatchSourceOptions { PatientsPerBatch = 4, ScansPerPatient = 2 }, BootstrapResamples = 30,
            Protocol = new ExperimentProtocolOptions { TestFraction = 0.25 },
        };
        var results = new LearnerExperiment(options).Run(Experiments.LearnerExperimentTests.Cohort());
        results.Rows.Should().OnlyContain(r => r.Details != null && r.Details.Losses.Count == 6 && r.Details.PairDistances.Count == r.Details.PairGaps.Count);
        foreach (var r in results.Rows)
        {
            int total = 0;
            foreach (int c in r.Details!.Confusion) total += c;
            total.Should().Be(r.Details.PairGaps.Count, "every evaluated pair is in the confusion matrix once");
        }

        string html = HtmlReport.Render(results, new ReportOptions { Title = "T <&>", Description = "tiny", Settings = new[] { new KeyValuePair<string, string>("encoder", "mlp") } });
        html.Should().StartWith("<!DOCTYPE html>").And.Contain("<title>T &lt;&amp;&gt;</title>");
        html.Should().NotContain("<script");
        html.Replace("http://www.w3.org/2000/svg", "").Should().NotContain("http://").And.NotContain("https://", "the page has no external assets");
        int svgs = System.Text.RegularExpressions.Regex.Matches(html, "<svg ").Count;
        svgs.Should().Be(2 + 4 * 2, "two summary charts, then a curve, an alignment scatter, a probe scatter and a confusion matrix per objective");
        html.Should().Contain("Visit level and health-score probe").And.Contain("Health-score probe on held-out patients").And.Contain("Paired differences to ");
        html.Should().Contain(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"R&#178; = {results.Rows[0].Probe!.ClipR2.Estimate:F3}"), "the probe scatter names its R² (escaped in the SVG)");
        foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(html, "<svg .*?</svg>", System.Text.RegularExpressions.RegexOptions.Singleline))
            Parse(m.Value);

        string path = Path.Combine(Path.GetTempPath(), $"report-{Guid.NewGuid():N}", "r.html");
        try
        {
            HtmlReport.Write(path, results);
            File.ReadAllText(path).Should().Contain("Confusion matrices");
        }
        finally { Directory.Delete(Path.GetDirectoryName(path)!, true); }

        var json = System.Text.Json.JsonDocument.Parse(results.ToJson(includeDetails: true)).RootElement;
        json.GetProperty("rows")[0].GetProperty("details").GetProperty("losses").GetArrayLength().Should().Be(6);
        json.GetProperty("rows")[0].GetProperty("details").GetProperty("confusion").GetArrayLength().Should().Be(3);
    }

    [Fact]
    public void The_report_states_the_protocol_shows_every_trial_and_claims_no_winner_without_a_significant_paired_difference()
    {
        var cold = new ExperimentRunOptions { WarmUp = false };
        var options = Experiments.LearnerExperimentTests.Small() with
        {
            Objectives = new[] { "mse", "weighted-contrastive" },
            Protocol = new ExperimentProtocolOptions { TestFraction = 0.25, ValidationFraction = 0.34 },
            Search = new HyperparameterSearchOptions { Trials = 2, LearningRates = new[] { 1e-3, 3e-3 } },
        };
        var results = new LearnerExperiment(options).Run(Experiments.LearnerExperimentTests.Cohort(), cold, null, null, CancellationToken.None);
        string html = HtmlReport.Render(results);
        html.Should().Contain("Protocol: held-out split").And.Contain("Hyperparameter search (validation patients)").And.Contain("(chosen)");
        System.Text.RegularExpressions.Regex.Matches(html, "\\(chosen\\)").Count.Should().Be(2, "one chosen trial per objective and fold");
        // Four held-out patients cannot separate two objectives: the report must not highlight a winner.
        html.Should().Contain("No objective is highlighted");
        html.Should().NotContain("<tr class=\"best\"><td>mse</td>").And.NotContain("<tr class=\"best\"><td>weighted-contrastive</td>");

        var leaky = new LearnerExperiment(options with { Search = new HyperparameterSearchOptions(), Protocol = new ExperimentProtocolOptions { OuterFolds = 4, Transductive = true } })
            .Run(Experiments.LearnerExperimentTests.Cohort(), cold, null, null, CancellationToken.None);
        HtmlReport.Render(leaky).Should().Contain("Protocol: transductive").And.Contain("not held-out estimates");
    }
}
