using System.Text.Json;
using System.Text.RegularExpressions;

namespace SelfAlign.Text;

/// <summary>
/// The <c>pre_tokenizer</c> of a <c>tokenizer.json</c>: splits normalized text into the pieces
/// BPE merges within (regex splits with Hugging Face's delimiter behaviours, digit splits, the
/// byte-level GPT-2 split) and sequences of these.
/// </summary>
internal static class PreTokenizer
{
    /// <summary>The GPT-2 split that the ByteLevel pre-tokenizer applies when <c>use_regex</c> is true.</summary>
    static readonly Regex Gpt2Split = new(@"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+",
        RegexOptions.Compiled | RegexOptions.CultureInvariant);

    /// <summary>
    /// Builds the splitter described by <paramref name="spec"/>: one piece in, its sub-pieces out. The flag
    /// says whether the piece starts the text (no added token before it), which Metaspace's <c>first</c> reads.
    /// </summary>
    public static Func<string, bool, IEnumerable<string>> Parse(JsonElement spec, string file)
    {
        if (spec.ValueKind == JsonValueKind.Null) return (s, _) => [s];
        string type = TokenizerJson.Type(spec, file, "pre_tokenizer");
        switch (type)
        {
            case "Sequence":
                var steps = spec.GetProperty("pretokenizers").EnumerateArray().Select(p => Parse(p, file)).ToArray();
                return (s, startsText) =>
                {
                    IEnumerable<string> pieces = [s];
                    foreach (var step in steps) pieces = pieces.SelectMany((p, i) => step(p, startsText && i == 0)).ToList();
                    return pieces;
                };
            case "Split":
                var pattern = TokenizerJson.Pattern(spec, file, "pre_tokenizer");
                var behavior = TokenizerJson.String(spec, "behavior", file, "pre_tokenizer");
                bool invert = spec.TryGetProperty("invert", out var inv) && inv.ValueKind == JsonValueKind.True;
                if (behavior is not ("Isolated" or "Removed" or "MergedWithPrevious" or "MergedWithNext" or "Contiguous"))
                    throw TokenizerJson.Unsupported(file, "pre_tokenizer Split behavior", behavior);
                return (s, _) => Split(s, pattern, behavior, invert);
            case "Digits":
                bool individual = spec.TryGetProperty("individual_digits", out var ind) && ind.ValueKind == JsonValueKind.True;
                return (s, _) => SplitDigits(s, individual);
            case "ByteLevel":
                bool prefixSpace = TokenizerJson.Bool(spec, "add_prefix_space", false);
                bool useRegex = TokenizerJson.Bool(spec, "use_regex", true);
                return (s, _) =>
                {
                    if (prefixSpace && !s.StartsWith(' ')) s = " " + s;
                    return useRegex ? Split(s, Gpt2Split, "Isolated", false) : [s];
                };
            case "Metaspace":
                return Metaspace.PreTokenizer(spec, file);
            default:
                throw TokenizerJson.Unsupported(file, "pre_tokenizer", type);
        }
    }

    /// <summary>Hugging Face's <c>split</c>: matches and the text between them, combined by <paramref name="behavior"/>.</summary>
    internal static List<string> Split(string s, Regex pattern, string behavior, bool invert)
    {
        var spans = new List<(int Start, int Length, bool Match)>();
        int at = 0;
        for (var m = pattern.Match(s); m.Success; m = m.NextMatch())
        {
            if (m.Length == 0) continue;
            if (m.Index > at) spans.Add((at, m.Index - at, invert));
            spans.Add((m.Index, m.Length, !invert));
            at = m.Index + m.Length;
        }
        if (at < s.Length) spans.Add((at, s.Length - at, invert));

        if (behavior == "MergedWithNext")
        {
            // Mirror of MergedWithPrevious: walk backwards, a match joins the span after it.
            spans.Reverse();
            var reversed = Merge(spans, (last, span) => (span.Start, last.Length + span.Length, false));
            reversed.Reverse();
            return reversed.Select(x => s.Substring(x.Start, x.Length)).ToList();
        }
        return behavior switch
        {
            "Removed" => spans.Where(x => !x.Match).Select(x => s.Substring(x.Start, x.Length)).ToList(),
            "Isolated" => spans.Select(x => s.Substring(x.Start, x.Length)).ToList(),
            "MergedWithPrevious" => Merge(spans, (last, span) => (last.Start, last.Length + span.Length, false))
                .Select(x => s.Substring(x.Start, x.Length)).ToList(),
            _ => Contiguous(s, spans),
        };
    }

    // A match that follows a non-match is folded into the span before it (in walking order).
    static List<(int Start, int Length, bool Match)> Merge(List<(int Start, int Length, bool Match)> spans,
        Func<(int Start, int Length, bool Match), (int Start, int Length, bool Match), (int, int, bool)> join)
    {
        var merged = new List<(int Start, int Length, bool Match)>(spans.Count);
        bool previousMatch = false;
        foreach (var span in spans)
        {
            if (span.Match && !previousMatch && merged.Count > 0) merged[^1] = join(merged[^1], span);
            else merged.Add((span.Start, span.Length, false));
            previousMatch = span.Match;
        }
        return merged;
    }

    static List<string> Contiguous(string s, List<(int Start, int Length, bool Match)> spans)
    {
        var pieces = new List<string>(spans.Count);
        bool previousMatch = false;
        foreach (var (start, length, match) in spans)
        {
            string text = s.Substring(start, length);
            if (match && previousMatch) pieces[^1] += text;
            else pieces.Add(text);
            previousMatch = match;
        }
        return pieces;
    }

    static List<string> SplitDigits(string s, bool individual)
    {
        var pieces = new List<string>();
        int start = 0;
        for (int i = 1; i <= s.Length; i++)
        {
            bool boundary = i == s.Length || char.IsNumber(s[i]) != char.IsNumber(s[i - 1]) || (individual && char.IsNumber(s[i]));
            if (!boundary) continue;
            pieces.Add(s[start..i]);
            start = i;
        }
        return pieces;
    }
}
