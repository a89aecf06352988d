using System.Text;
using System.Text.Json;

namespace SelfAlign.Text;

/// <summary>
/// The <c>decoder</c> of a SentencePiece-style <c>tokenizer.json</c>: steps that each turn the list
/// of token strings into another (Hugging Face's <c>decode_chain</c>) and whose result is joined.
/// <c>Replace</c>, <c>ByteFallback</c> (<c>&lt;0xNN&gt;</c> runs back to UTF-8), <c>Fuse</c>,
/// <c>Strip</c>, <c>Metaspace</c> and sequences of these. (Byte-level decoding is the tokenizer's own.)
/// </summary>
internal static class TokenDecoder
{
    /// <summary>Builds the decoder described by <paramref name="spec"/>.</summary>
    public static Func<List<string>, List<string>> Parse(JsonElement spec, string file)
    {
        string type = TokenizerJson.Type(spec, file, "decoder");
        switch (type)
        {
            case "Sequence":
                var steps = spec.GetProperty("decoders").EnumerateArray().Select(d => Parse(d, file)).ToArray();
                return tokens => steps.Aggregate(tokens, (t, step) => step(t));
            case "Replace":
                var pattern = TokenizerJson.Pattern(spec, file, "decoder");
                string content = TokenizerJson.String(spec, "content", file, "decoder").Replace("$", "$$");
                return tokens => tokens.Select(t => pattern.Replace(t, content)).ToList();
            case "ByteFallback":
                return ByteFallback;
            case "Fuse":
                return tokens => [string.Concat(tokens)];
            case "Strip":
                string strip = TokenizerJson.String(spec, "content", file, "decoder");
                int start = spec.GetProperty("start").GetInt32(), stop = spec.GetProperty("stop").GetInt32();
                return tokens => tokens.Select(t => Strip(t, strip, start, stop)).ToList();
            case "Metaspace":
                string replacement = TokenizerJson.String(spec, "replacement", file, "decoder");
                bool prepends = Metaspace.Scheme(spec, file) != Metaspace.Never;
                // The space the pre-tokenizer put before the text comes off the first token only.
                return tokens => tokens.Select((t, i) =>
                {
                    string text = t.Replace(replacement, " ");
                    return i == 0 && prepends && text.StartsWith(' ') ? text[1..] : text;
                }).ToList();
            default:
                throw TokenizerJson.Unsupported(file, "decoder", type);
        }
    }

    /// <summary>Runs of byte tokens become the text they encode; a run that is not valid UTF-8 becomes one U+FFFD per byte.</summary>
    static List<string> ByteFallback(List<string> tokens)
    {
        var result = new List<string>(tokens.Count);
        var bytes = new List<byte>();
        void Flush()
        {
            if (bytes.Count == 0) return;
            try
            {
                result.Add(new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes.ToArray()));
            }
            catch (DecoderFallbackException)
            {
                result.AddRange(Enumerable.Repeat("\uFFFD", bytes.Count));
            }
            bytes.Clear();
        }
        foreach (string token in tokens)
        {
            if (token.Length == 6 && token.StartsWith("<0x", StringComparison.Ordinal) && token[5] == '>'
                && byte.TryParse(token.AsSpan(3, 2), System.Globalization.NumberStyles.HexNumber, null, out byte b))
            {
                bytes.Add(b);
                continue;
            }
            Flush();
            result.Add(token);
        }
        Flush();
        return result;
    }

    /// <summary>Removes up to <paramref name="start"/> leading and <paramref name="stop"/> trailing copies of <paramref name="content"/>.</summary>
    static string Strip(string token, string content, int start, int stop)
    {
        int from = 0, to = token.Length;
        for (int i = 0; i < start && token.AsSpan(from, to - from).StartsWith(content); i++) from += content.Length;
        for (int i = 0; i < stop && token.AsSpan(from, to - from).EndsWith(content); i++) to -= content.Length;
        return token[from..to];
    }
}
