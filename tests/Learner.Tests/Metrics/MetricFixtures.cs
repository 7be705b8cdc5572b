using System.Text.Json;

namespace Learner.Tests.Metrics;

/// <summary>Access to Fixtures/metrics.json, written by Fixtures/generate_metric_fixtures.py (sklearn / scipy / numpy).</summary>
internal static class MetricFixtures
{
    private static readonly Lazy<JsonDocument> Document = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Metrics", "Fixtures", "metrics.json"))));

    public static JsonElement Section(string name) => Document.Value.RootElement.GetProperty(name);

    public static IEnumerable<object[]> CaseNames(string section) =>
        Section(section).EnumerateArray().Select(e => new object[] { e.GetProperty("name").GetString()! });

    public static JsonElement Case(string section, string name) =>
        Section(section).EnumerateArray().Single(e => e.GetProperty("name").GetString() == name);

    public static double Number(JsonElement e) =>
        e.ValueKind == JsonValueKind.String && e.GetString() == "NaN" ? double.NaN : e.GetDouble();

    public static double Number(JsonElement e, string property) => Number(e.GetProperty(property));

    public static double[] Numbers(JsonElement e, string property) => e.GetProperty(property).EnumerateArray().Select(Number).ToArray();

    public static float[] Floats(JsonElement e, string property) => e.GetProperty(property).EnumerateArray().Select(x => (float)x.GetDouble()).ToArray();

    public static int[] Ints(JsonElement e, string property) => e.GetProperty(property).EnumerateArray().Select(x => x.GetInt32()).ToArray();

    /// <summary>Equal within <paramref name="tolerance"/>, or both NaN.</summary>
    public static void ShouldMatch(double actual, double expected, string what, double tolerance = 1e-9)
    {
        if (double.IsNaN(expected))
            actual.Should().Be(double.NaN, what);
        else
            actual.Should().BeApproximately(expected, tolerance, what);
    }

    public static void ShouldMatch(IReadOnlyList<double> actual, double[] expected, string what, double tolerance = 1e-9)
    {
        actual.Count.Should().Be(expected.Length, what);
        for (int i = 0; i < expected.Length; i++) ShouldMatch(actual[i], expected[i], $"{what}[{i}]", tolerance);
    }
}
