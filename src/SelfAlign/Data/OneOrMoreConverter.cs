using System.Text.Json;
using System.Text.Json.Serialization;

namespace SelfAlign.Data;

/// <summary>
/// A config value that is one string or a list of them: <c>"a.jsonl"</c> reads as one item, and a
/// single item writes back as a plain string, so configs and manifests that name one file keep their form.
/// </summary>
public sealed class OneOrMoreConverter : JsonConverter<string[]>
{
    /// <inheritdoc/>
    public override string[] Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.TokenType switch
    {
        JsonTokenType.String => [reader.GetString()!],
        JsonTokenType.StartArray => JsonSerializer.Deserialize<string[]>(ref reader, options)!,
        _ => throw new JsonException("must be a file name or a list of them"),
    };

    /// <inheritdoc/>
    public override void Write(Utf8JsonWriter writer, string[] value, JsonSerializerOptions options)
    {
        if (value.Length == 1) writer.WriteStringValue(value[0]);
        else JsonSerializer.Serialize(writer, value, options);
    }
}
