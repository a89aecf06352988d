using System.Text.Json;
using System.Text.RegularExpressions;

namespace SelfAlign.Text;

/// <summary>
/// SentencePiece's metaspace: spaces become <c>▁</c> (<c>replacement</c>), with a <c>▁</c> put
/// before the text by <c>prepend_scheme</c>: <c>always</c> (every segment between added tokens),
/// <c>first</c> (only the segment that starts the text) or <c>never</c>; older files say
/// <c>add_prefix_space</c> for always or never.
/// </summary>
internal static class Metaspace
{
    /// <summary>The symbol every SentencePiece family writes for a space (U+2581).</summary>
    public const string Symbol = "\u2581";

    /// <summary>The prepend schemes.</summary>
    public const string Always = "always", First = "first", Never = "never";

    /// <summary>The prepend scheme of a Metaspace pre-tokenizer or decoder.</summary>
    public static string Scheme(JsonElement spec, string file)
    {
        if (spec.TryGetProperty("prepend_scheme", out var scheme) && scheme.ValueKind == JsonValueKind.String)
            return scheme.GetString() is (Always or First or Never) and string s ? s : throw TokenizerJson.Unsupported(file, "Metaspace prepend_scheme", scheme.GetString()!);
        return TokenizerJson.Bool(spec, "add_prefix_space", true) ? Always : Never;
    }

    /// <summary>The pre-tokenizer: metaspaces, the prepended one, and with <c>split</c> a piece per word, each starting with its <c>▁</c>.</summary>
    public static Func<string, bool, IEnumerable<string>> PreTokenizer(JsonElement spec, string file)
    {
        string replacement = TokenizerJson.String(spec, "replacement", file, "pre_tokenizer");
        string scheme = Scheme(spec, file);
        bool split = TokenizerJson.Bool(spec, "split", true);
        var delimiter = new Regex(Regex.Escape(replacement));
        return (s, startsText) =>
        {
            s = s.Replace(" ", replacement);
            if (!s.StartsWith(replacement, StringComparison.Ordinal) && (scheme == Always || scheme == First && startsText)) s = replacement + s;
            return split ? Text.PreTokenizer.Split(s, delimiter, "MergedWithNext", false) : [s];
        };
    }
}
