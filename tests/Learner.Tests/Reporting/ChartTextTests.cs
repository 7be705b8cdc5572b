using System.Xml.Linq;
using Learner.Reporting;

namespace Learner.Tests.Reporting;

/// <summary>Tick labels and chart titles that read correctly (issue 17: duplicate and scientific ticks, clipped titles).</summary>
public class ChartTextTests
{
    [Theory]
    [InlineData(0.0, 0.0021)]
    [InlineData(0.0001, 0.00037)]
    [InlineData(-0.003, 0.004)]
    [InlineData(0.37, 0.3712)]
    [InlineData(12000, 12000.9)]
    [InlineData(0, 250000)]
    [InlineData(-1e-6, 1e-6)]
    public void Small_and_large_range_axes_get_distinct_plain_decimal_labels(double min, double max)
    {
        var (_, _, ticks) = AxisTicks.Nice(min, max, 5);
        var labels = AxisTicks.Labels(ticks);
        labels.Should().OnlyHaveUniqueItems();
        labels.Should().NotContain(l => l.Contains('E') || l.Contains('e'), "no scientific notation");
        for (int i = 0; i < ticks.Length; i++)
            double.Parse(labels[i], System.Globalization.CultureInfo.InvariantCulture).Should().BeApproximately(ticks[i], Math.Abs(ticks[1] - ticks[0]) * 1e-6, "a label reads as its tick");
    }

    [Fact]
    public void The_ticks_of_the_reported_case_read_as_their_values()
    {
        var (_, _, ticks) = AxisTicks.Nice(0, 0.002, 4);
        AxisTicks.Labels(ticks).Should().Equal("0", "0.0005", "0.0010", "0.0015", "0.0020");
        AxisTicks.Labels([0, 20, 40]).Should().Equal("0", "20", "40");
    }

    [Fact]
    public void A_title_that_fits_stays_on_one_line_and_a_long_one_wraps_within_the_width()
    {
        ChartTitle.Wrap("mse (seed 1)", 344).Should().Equal("mse (seed 1)");
        const string title = "mse+0.5*weighted-contrastive(marginByGap=true) (seed 1): Spearman ρ = 0.612";
        var lines = ChartTitle.Wrap(title, 344);
        lines.Should().HaveCountGreaterThan(1);
        lines.Should().OnlyContain(l => ChartTitle.EstimateWidth(l, 12) <= 344);
        string.Join(" ", lines).Should().Be(title, "wrapping only moves spaces to line ends");
        lines[^1].Should().Contain("Spearman", "the break prefers the ': ' before the statistic");
        ChartTitle.Wrap("averyveryveryverylongwordwithoutanyspaceatall", 60).Should().OnlyContain(l => ChartTitle.EstimateWidth(l, 12) <= 60);
    }

    [Fact]
    public void A_scatter_with_a_long_title_draws_every_line_inside_the_drawing_and_moves_the_plot_down()
    {
        const string title = "se+weighted-contrastive(marginByGap=true) (seed 1): Spearman ρ = 0.612";
        var svg = XDocument.Parse(Charts.Scatter(title, "|Δscore|", "cosine distance", [0.0, 1, 2, 3], [0.0, 0.001, 0.0015, 0.002]));
        XNamespace ns = "http://www.w3.org/2000/svg";
        double width = double.Parse(svg.Root!.Attribute("width")!.Value, System.Globalization.CultureInfo.InvariantCulture);
        var titleLines = svg.Descendants(ns + "text").Where(t => t.Attribute("font-weight")?.Value == "600").ToList();
        titleLines.Should().HaveCountGreaterThan(1);
        foreach (var t in titleLines)
        {
            double x = double.Parse(t.Attribute("x")!.Value, System.Globalization.CultureInfo.InvariantCulture);
            double half = ChartTitle.EstimateWidth(t.Value, 12) / 2;
            (x - half).Should().BeGreaterThanOrEqualTo(0);
            (x + half).Should().BeLessThanOrEqualTo(width);
        }
        var tickLabels = svg.Descendants(ns + "text").Where(t => t.Attribute("text-anchor")?.Value == "end" && t.Attribute("font-size")?.Value == "10").Select(t => t.Value).ToList();
        tickLabels.Should().OnlyHaveUniqueItems().And.NotContain(l => l.Contains('E'));
    }
}

public class ChartLabelShorteningTests
{
    [Fact]
    public void A_long_bar_label_is_shortened_in_the_middle_to_fit()
    {
        const string name = "mse + 0.5*weighted-contrastive(marginByGap=true)";
        ChartTitle.Shorten("mse", 100, 10).Should().Be("mse");
        string s = ChartTitle.Shorten(name, 120, 10);
        ChartTitle.EstimateWidth(s, 10).Should().BeLessThanOrEqualTo(120);
        s.Should().StartWith("mse").And.EndWith("true)").And.Contain("…");
    }
}
