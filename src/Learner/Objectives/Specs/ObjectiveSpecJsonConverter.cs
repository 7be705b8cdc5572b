using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Learner.Objectives;

/// <summary>
/// Reads an <see cref="ObjectiveSpec"/> from JSON written either as the grammar string
/// (<c>"mse+0.5*weighted-contrastive(marginByGap=true)"</c>) or as an object
/// <c>{"terms":[{"name":"weighted-contrastive","weight":0.5,"options":{"marginByGap":true}}]}</c> (property names
/// case-insensitive; <c>weight</c> optional, default 1; option values true/false, numbers or strings), and writes the
/// canonical grammar string. Malformed input raises <see cref="JsonException"/> whose message names the problem (and
/// whose inner exception is the <see cref="ObjectiveSpecException"/>, when there is one).
/// </summary>
public sealed class ObjectiveSpecJsonConverter : JsonConverter<ObjectiveSpec>
{
    /// <inheritdoc />
    public override ObjectiveSpec Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        try
        {
            return reader.TokenType switch
            {
                JsonTokenType.String => ObjectiveSpec.Parse(reader.GetString()!),
                JsonTokenType.StartObject => ReadObject(ref reader),
                _ => throw new JsonException($"An objective spec must be a JSON string or an object with \"terms\", found {reader.TokenType}."),
            };
        }
        catch (ObjectiveSpecException e)
        {
            throw new JsonException(e.Message, e);
        }
    }

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, ObjectiveSpec value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(value);
        // Relaxed escaping keeps '+' readable in settings files (the default encoder writes \u002B).
        writer.WriteStringValue(JsonEncodedText.Encode(value.ToString(), JavaScriptEncoder.UnsafeRelaxedJsonEscaping));
    }

    private static ObjectiveSpec ReadObject(ref Utf8JsonReader reader)
    {
        List<ObjectiveSpecTerm>? terms = null;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            string property = reader.GetString()!;
            reader.Read();
            if (!property.Equals("terms", StringComparison.OrdinalIgnoreCase))
                throw new JsonException($"An objective spec object has the unknown property \"{property}\"; expected \"terms\".");
            if (reader.TokenType != JsonTokenType.StartArray)
                throw new JsonException($"An objective spec's \"terms\" must be an array, found {reader.TokenType}.");
            terms = new List<ObjectiveSpecTerm>();
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                terms.Add(ReadTerm(ref reader, terms.Count + 1));
        }
        if (terms is null) throw new JsonException("An objective spec object needs \"terms\": an array of {\"name\", \"weight\", \"options\"}.");
        return new ObjectiveSpec(terms);
    }

    private static ObjectiveSpecTerm ReadTerm(ref Utf8JsonReader reader, int number)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
            throw new JsonException($"Objective spec term {number} must be an object {{\"name\", \"weight\", \"options\"}}, found {reader.TokenType}.");
        string? name = null;
        double weight = 1;
        var options = new List<KeyValuePair<string, string>>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            string property = reader.GetString()!;
            reader.Read();
            switch (property.ToLowerInvariant())
            {
                case "name":
                    name = reader.TokenType == JsonTokenType.String ? reader.GetString()
                        : throw new JsonException($"Objective spec term {number}: \"name\" must be a string, found {reader.TokenType}.");
                    break;
                case "weight":
                    if (reader.TokenType != JsonTokenType.Number || !reader.TryGetDouble(out weight))
                        throw new JsonException($"Objective spec term {number}: \"weight\" must be a number, found {reader.TokenType}.");
                    break;
                case "options":
                    if (reader.TokenType != JsonTokenType.StartObject)
                        throw new JsonException($"Objective spec term {number}: \"options\" must be an object of option names to values, found {reader.TokenType}.");
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
                    {
                        string key = reader.GetString()!;
                        reader.Read();
                        string value = reader.TokenType switch
                        {
                            JsonTokenType.True => "true",
                            JsonTokenType.False => "false",
                            JsonTokenType.Number => System.Text.Encoding.UTF8.GetString(reader.HasValueSequence ? System.Buffers.BuffersExtensions.ToArray(reader.ValueSequence) : reader.ValueSpan.ToArray()),
                            JsonTokenType.String => reader.GetString()!,
                            _ => throw new JsonException($"Objective spec term {number} option \"{key}\" must be true, false, a number or a string, found {reader.TokenType}."),
                        };
                        options.Add(new KeyValuePair<string, string>(key, value));
                    }
                    break;
                default:
                    throw new JsonException($"Objective spec term {number} has the unknown property \"{property}\"; expected \"name\", \"weight\" or \"options\".");
            }
        }
        if (name is null) throw new JsonException($"Objective spec term {number} needs a \"name\".");
        return new ObjectiveSpecTerm(name, weight, options);
    }
}
