using System.Text.Json;

namespace Learner.Tests.Data;

/// <summary>Access to the committed data fixtures written by Fixtures/generate_data_fixtures.py.</summary>
internal static class DataFixtures
{
    private static readonly Lazy<JsonDocument> Expected = new(() => JsonDocument.Parse(File.ReadAllText(PathOf("expected.json"))));

    public static string Folder => Path.Combine(AppContext.BaseDirectory, "Fixtures", "data");

    public static string PathOf(string name) => Path.Combine(Folder, name);

    public static JsonElement Section(string name) => Expected.Value.RootElement.GetProperty(name);

    public static int[] Shape(JsonElement e) => e.GetProperty("shape").EnumerateArray().Select(x => x.GetInt32()).ToArray();

    public static double[] Values(JsonElement e) => e.GetProperty("values").EnumerateArray().Select(x => x.GetDouble()).ToArray();
}
