using System.Text.Json;
using System.Text.Json.Serialization;

namespace Learner.Reporting;

/// <summary>
/// The JSON rule of every file and message Learner writes for people and other tools (results.json, the command line's
/// <c>--json</c>, <c>evaluate --out</c>, log.jsonl): a number that is not finite (NaN, ±∞: a metric that could not be
/// measured) is written as <c>null</c>, never as the strings <c>"NaN"</c> or <c>"Infinity"</c>, which standard JSON
/// readers reject or read as text. Reading accepts numbers and <c>null</c> (read back as NaN).
/// </summary>
public sealed class NonFiniteAsNullJsonConverter : JsonConverter<double>
{
    /// <summary>Serializer options with this converter, indented, with non-ASCII text (κ, ρ, ±) written as is.</summary>
    public static JsonSerializerOptions Options { get; } = new()
    {
        WriteIndented = true,
        Converters = { new NonFiniteAsNullJsonConverter() },
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>As <see cref="Options"/>, on one line (one JSON document per line, as in log.jsonl).</summary>
    public static JsonSerializerOptions Compact { get; } = new(Options) { WriteIndented = false };

    /// <inheritdoc />
    public override bool HandleNull => true;

    /// <inheritdoc />
    public override double Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType == JsonTokenType.Null ? double.NaN : reader.GetDouble();

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, double value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (double.IsFinite(value)) writer.WriteNumberValue(value);
        else writer.WriteNullValue();
    }
}
