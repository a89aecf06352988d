using System.Text.Json;

namespace SelfAlign.Data;

/// <summary>
/// One object of a data file with where it came from. Its field readers check the field's type,
/// so a bad value fails as <c>file:line: 'field' must be ...</c> instead of an exception from the
/// JSON library.
/// </summary>
/// <param name="File">The file the object came from.</param>
/// <param name="Line">Its 1-based line.</param>
/// <param name="Element">The object.</param>
public readonly record struct JsonRow(string File, int Line, JsonElement Element)
{
    /// <summary>The line and the object, for <c>foreach (var (line, row) in ...)</c>.</summary>
    public void Deconstruct(out int line, out JsonElement row) => (line, row) = (Line, Element);

    /// <summary>An error at this row.</summary>
    public DataFormatException Error(string reason) => new(File, Line, reason);

    /// <summary>True when the row has <paramref name="name"/> with a value other than null.</summary>
    public bool Has(string name) => Element.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null;

    /// <summary>The value of <paramref name="name"/>, which must be present.</summary>
    public JsonElement Field(string name) => Element.TryGetProperty(name, out var v) ? v : throw Error($"missing '{name}'");

    /// <summary>A string field.</summary>
    public string String(string name) => Field(name) is { ValueKind: JsonValueKind.String } v ? v.GetString()! : throw Error($"'{name}' must be a string");

    /// <summary>An integer field.</summary>
    public int Int(string name) => Field(name) is { ValueKind: JsonValueKind.Number } v && v.TryGetInt32(out int i) ? i : throw Error($"'{name}' must be an integer");

    /// <summary>A boolean field.</summary>
    public bool Bool(string name) => Field(name) is { ValueKind: JsonValueKind.True or JsonValueKind.False } v ? v.GetBoolean() : throw Error($"'{name}' must be true or false");

    /// <summary>A number field.</summary>
    public double Number(string name) => Field(name) is { ValueKind: JsonValueKind.Number } v ? v.GetDouble() : throw Error($"'{name}' must be a number");

    /// <summary>A number field that must be present but may be null (a value that could not be measured).</summary>
    public double? NumberOrNull(string name) => Field(name).ValueKind == JsonValueKind.Null ? null : Number(name);

    /// <summary>A number field that may be absent or null.</summary>
    public double? OptionalNumber(string name) => Has(name) ? Number(name) : null;

    /// <summary>A string field that may be absent or null.</summary>
    public string? OptionalString(string name) => Has(name) ? String(name) : null;

    /// <summary>A list of numbers, where null stands for a missing value (NaN).</summary>
    public double[] Numbers(string name) => Numbers(Field(name), name);

    /// <summary>A list of numbers held somewhere inside the row (such as an element of a list field), named <paramref name="name"/> in errors.</summary>
    public double[] Numbers(JsonElement list, string name)
    {
        var error = Error($"'{name}' must be a list of numbers");
        if (list is not { ValueKind: JsonValueKind.Array } array) throw error;
        return [.. array.EnumerateArray().Select(x => x.ValueKind switch
        {
            JsonValueKind.Number => x.GetDouble(),
            JsonValueKind.Null => double.NaN,
            _ => throw error,
        })];
    }
}
