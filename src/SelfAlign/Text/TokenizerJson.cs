using System.Text.Json;
using System.Text.RegularExpressions;
using SelfAlign.Modeling;

namespace SelfAlign.Text;

/// <summary>Typed reads of <c>tokenizer.json</c> components, with errors that name the file and component.</summary>
internal static class TokenizerJson
{
    public static string Type(JsonElement spec, string file, string component) =>
        spec.ValueKind == JsonValueKind.Object && spec.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String
            ? t.GetString()! : throw new ModelFormatException(file, $"{component}: missing 'type'");

    public static string String(JsonElement spec, string name, string file, string component) =>
        spec.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String
            ? v.GetString()! : throw new ModelFormatException(file, $"{component}: field '{name}' must be a string");

    public static bool Bool(JsonElement spec, string name, bool fallback) =>
        spec.TryGetProperty(name, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : fallback;

    /// <summary>A <c>pattern</c> field: <c>{"Regex": ...}</c> or a literal <c>{"String": ...}</c>.</summary>
    public static Regex Pattern(JsonElement spec, string file, string component)
    {
        if (!spec.TryGetProperty("pattern", out var p) || p.ValueKind != JsonValueKind.Object)
            throw new ModelFormatException(file, $"{component}: missing 'pattern'");
        const RegexOptions options = RegexOptions.Compiled | RegexOptions.CultureInvariant;
        if (p.TryGetProperty("String", out var literal)) return new Regex(Regex.Escape(literal.GetString() ?? ""), options);
        if (!p.TryGetProperty("Regex", out var regex)) throw new ModelFormatException(file, $"{component}: pattern must be Regex or String");
        try
        {
            return new Regex(regex.GetString() ?? "", options);
        }
        catch (ArgumentException e)
        {
            throw new ModelFormatException(file, $"{component}: regex {regex.GetString()} is not supported: {e.Message}");
        }
    }

    public static ModelFormatException Unsupported(string file, string component, string type) =>
        new(file, $"{component} type '{type}' is not supported (SelfAlign reads byte-level and SentencePiece-style BPE tokenizers)");
}
