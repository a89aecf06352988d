using System.Text.Json;
using System.Text.Json.Nodes;

namespace SelfAlign.Modeling;

/// <summary>Typed access to the fields of a JSON config object, with errors that name file and field.</summary>
internal sealed class ConfigReader(JsonObject json, string file, string prefix = "")
{
    public string File => file;

    /// <summary>Parses a JSON object file; <paramref name="whyNeeded"/> completes the not-found message.</summary>
    public static JsonObject ReadObject(string path, string whyNeeded)
    {
        if (!System.IO.File.Exists(path)) throw new ModelFormatException(path, $"file not found ({whyNeeded})");
        try
        {
            return JsonNode.Parse(System.IO.File.ReadAllText(path)) as JsonObject
                ?? throw new ModelFormatException(path, "expected a JSON object");
        }
        catch (JsonException e)
        {
            throw new ModelFormatException(path, JsonMessages.WithPosition(e), e);
        }
    }

    public string String(string name) => OptionalString(name) ?? throw Missing(name);
    public int Int(string name) => OptionalInt(name) ?? throw Missing(name);
    public double Double(string name) => OptionalDouble(name) ?? throw Missing(name);

    /// <summary>Whether the field is written at all, even as null.</summary>
    public bool Has(string name) => json.ContainsKey(name);

    public string? OptionalString(string name) => Scalar(name, JsonValueKind.String)?.GetValue<string>();
    public bool? OptionalBool(string name) => Scalar(name, JsonValueKind.True)?.GetValue<bool>();
    // A node built in code may hold an int; its JSON text reads as a double either way.
    public double? OptionalDouble(string name) => Scalar(name, JsonValueKind.Number) switch
    {
        null => null,
        var v when v.TryGetValue<double>(out double d) => d,
        var v => double.Parse(v.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture),
    };

    public int? OptionalInt(string name) => Scalar(name, JsonValueKind.Number) switch
    {
        null => null,
        var v when v.TryGetValue<int>(out int i) => i,
        var v => throw Invalid(name, $"expected an integer, got {v.ToJsonString()}"),
    };

    public JsonObject? OptionalObject(string name) => json[name] switch
    {
        null => null,
        JsonObject o => o,
        var other => throw Invalid(name, $"expected an object, got {other.ToJsonString()}"),
    };

    public IReadOnlyList<string>? OptionalStringList(string name) => json[name] switch
    {
        null => null,
        JsonArray a => a.Select(e => e?.GetValueKind() == JsonValueKind.String ? e.GetValue<string>()
            : throw Invalid(name, "expected a list of strings")).ToArray(),
        var other => throw Invalid(name, $"expected a list, got {other.ToJsonString()}"),
    };

    /// <summary>A required list of numbers.</summary>
    public IReadOnlyList<double> DoubleList(string name) => json[name] switch
    {
        null => throw Missing(name),
        JsonArray a => a.Select(e => e?.GetValueKind() == JsonValueKind.Number ? e.GetValue<double>() : throw Invalid(name, "expected numbers")).ToArray(),
        var other => throw Invalid(name, $"expected a list of numbers, got {other.ToJsonString()}"),
    };

    /// <summary>An integer, a list of integers, or absent (empty list).</summary>
    public IReadOnlyList<int> OptionalIntOrList(string name) => json[name] switch
    {
        null => [],
        JsonArray a => a.Select(e => e is JsonValue v && v.TryGetValue<int>(out int i) ? i
            : throw Invalid(name, "expected integers")).ToArray(),
        JsonValue v when v.TryGetValue<int>(out int i) => [i],
        var other => throw Invalid(name, $"expected an integer or a list, got {other.ToJsonString()}"),
    };

    // A JSON null counts as absent, as it does for Hugging Face configs.
    JsonValue? Scalar(string name, JsonValueKind kind)
    {
        JsonNode? node = json[name];
        if (node is null) return null;
        JsonValueKind actual = node.GetValueKind();
        bool matches = actual == kind || (kind == JsonValueKind.True && actual == JsonValueKind.False);
        return matches && node is JsonValue value ? value
            : throw Invalid(name, $"expected {KindName(kind)}, got {node.ToJsonString()}");
    }

    static string KindName(JsonValueKind kind) => kind switch
    {
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True => "true or false",
        _ => kind.ToString(),
    };

    ModelFormatException Missing(string name) => new(file, $"missing field '{prefix}{name}'");
    ModelFormatException Invalid(string name, string why) => new(file, $"field '{prefix}{name}': {why}");
}
