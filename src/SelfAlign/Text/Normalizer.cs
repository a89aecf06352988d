using System.Text;
using System.Text.Json;

namespace SelfAlign.Text;

/// <summary>
/// The <c>normalizer</c> of a <c>tokenizer.json</c>: Unicode normal forms, lowercasing, literal
/// replacements, prepending, and sequences of these.
/// </summary>
internal static class Normalizer
{
    /// <summary>Builds the normalizer described by <paramref name="spec"/>; null when there is none.</summary>
    public static Func<string, string>? Parse(JsonElement spec, string file)
    {
        if (spec.ValueKind == JsonValueKind.Null) return null;
        string type = TokenizerJson.Type(spec, file, "normalizer");
        return type switch
        {
            "NFC" => s => s.Normalize(NormalizationForm.FormC),
            "NFD" => s => s.Normalize(NormalizationForm.FormD),
            "NFKC" => s => s.Normalize(NormalizationForm.FormKC),
            "NFKD" => s => s.Normalize(NormalizationForm.FormKD),
            "Lowercase" => s => s.ToLowerInvariant(),
            "Prepend" => Prepend(TokenizerJson.String(spec, "prepend", file, "normalizer")),
            "Replace" => Replace(spec, file),
            "Sequence" => Sequence(spec, file),
            _ => throw TokenizerJson.Unsupported(file, "normalizer", type),
        };
    }

    static Func<string, string> Prepend(string prefix) => s => s.Length == 0 ? s : prefix + s;

    static Func<string, string> Replace(JsonElement spec, string file)
    {
        var pattern = TokenizerJson.Pattern(spec, file, "normalizer");
        string content = TokenizerJson.String(spec, "content", file, "normalizer");
        return s => pattern.Replace(s, content.Replace("$", "$$"));
    }

    static Func<string, string> Sequence(JsonElement spec, string file)
    {
        var steps = spec.GetProperty("normalizers").EnumerateArray().Select(n => Parse(n, file)).OfType<Func<string, string>>().ToArray();
        return s =>
        {
            foreach (var step in steps) s = step(s);
            return s;
        };
    }
}
