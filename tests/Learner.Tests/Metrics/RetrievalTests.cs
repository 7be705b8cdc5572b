using Learner.Metrics;
using static Learner.Tests.Metrics.MetricFixtures;

namespace Learner.Tests.Metrics;

public class RetrievalTests
{
    public static IEnumerable<object[]> Cases => CaseNames("retrieval");

    [Theory]
    [MemberData(nameof(Cases))]
    public void Matches_the_numpy_reference(string name)
    {
        var c = Case("retrieval", name);
        var embeddings = Floats(c, "embeddings");
        int d = c.GetProperty("d").GetInt32();
        var labels = Ints(c, "labels");
        var report = Retrieval.Evaluate(embeddings, d, labels);
        ShouldMatch(report.MapAtR, Number(c, "map_at_r"), "MAP@R");
        ShouldMatch(report.PrecisionAt1, Number(c, "precision_at_1"), "precision@1");
        report.Queries.Should().Be(c.GetProperty("queries").GetInt32());
        report.SkippedQueries.Should().Be(c.GetProperty("skipped").GetInt32());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(71)]
    [InlineData(1000)]
    public void Result_does_not_depend_on_the_tile_size(int tileBudget)
    {
        var c = Case("retrieval", "noisy");
        var embeddings = Floats(c, "embeddings");
        int d = c.GetProperty("d").GetInt32();
        var labels = Ints(c, "labels");
        Retrieval.Evaluate(embeddings, d, labels, tileBudget).Should().Be(Retrieval.Evaluate(embeddings, d, labels));
    }

    [Fact]
    public void Hand_computed_example_with_a_lone_label()
    {
        // Items on the unit circle at angles 0°, 10°, 100°, 110°, 250°; labels a a b a c.
        double[] degrees = [0, 10, 100, 110, 250];
        var e = degrees.SelectMany(t => new[] { (float)Math.Cos(t * Math.PI / 180), (float)Math.Sin(t * Math.PI / 180) }).ToArray();
        var report = Retrieval.Evaluate(e, 2, [0, 0, 1, 0, 2]);
        // q0 (R=2): 10°(a) 100°(b) → AP = 1/2; q1: 0°(a), then 100°(b) → AP = 1/2 (P@1 hit);
        // q3 at 110° (R=2): 100°(b), 10°(a) → AP = (1/2)/2 = 1/4 (P@1 miss); q2 (R=0) and q4 (R=0) skipped.
        report.Queries.Should().Be(3);
        report.SkippedQueries.Should().Be(2);
        report.MapAtR.Should().BeApproximately((0.5 + 0.5 + 0.25) / 3, 1e-12);
        report.PrecisionAt1.Should().BeApproximately(2.0 / 3, 1e-12);
        report.ToString().Should().Contain("3 queries, 2 skipped");
    }

    [Fact]
    public void Ties_are_broken_by_lower_index()
    {
        // Query 0; items 1 (label b) and 2 (label a) are identical, so item 1 ranks first: AP@R (R=1) = 0.
        float[] e = [1, 0, 0, 1, 0, 1];
        var report = Retrieval.Evaluate(e, 2, [0, 1, 0]);
        // q0: R=1, ranked [1, 2] → miss; q2: R=1, ranked [1 (sim 1), 0] → miss; q1 skipped.
        report.MapAtR.Should().Be(0);
        report.PrecisionAt1.Should().Be(0);
        report.Queries.Should().Be(2);
    }

    [Fact]
    public void No_scorable_query_gives_nan()
    {
        var report = Retrieval.Evaluate([1, 0, 0, 1], 2, [3, 4]);
        report.MapAtR.Should().Be(double.NaN);
        report.PrecisionAt1.Should().Be(double.NaN);
        report.SkippedQueries.Should().Be(2);
        Retrieval.Evaluate(ReadOnlySpan<float>.Empty, 3, ReadOnlySpan<int>.Empty).Queries.Should().Be(0);
    }

    [Fact]
    public void Selection_puts_the_smallest_keys_first()
    {
        var rng = new Learner.Nn.Rng(5);
        for (int trial = 0; trial < 200; trial++)
        {
            int n = 1 + rng.NextInt(50);
            var keys = Enumerable.Range(0, n).Select(i => ((ulong)rng.NextInt(8) << 32) | (uint)i).ToArray();
            int count = 1 + rng.NextInt(n);
            var sorted = keys.OrderBy(k => k).Take(count).ToArray();
            Retrieval.SelectSmallest(keys, count);
            keys.Take(count).Should().BeEquivalentTo(sorted, $"trial {trial}");
        }
    }

    [Fact]
    public void Bad_inputs_are_rejected()
    {
        FluentActions.Invoking(() => Retrieval.Evaluate([1, 0, 0], 2, [0, 0]))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "embeddings" && e.Message.Contains('3'));
        FluentActions.Invoking(() => Retrieval.Evaluate([1, 0, 0, 0], 2, [0, 0]))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "embeddings" && e.Message.Contains("row 1"));
        FluentActions.Invoking(() => Retrieval.Evaluate([1, 0, float.NaN, 1], 2, [0, 0]))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "embeddings" && e.Message.Contains("[2] = NaN"));
    }
}
