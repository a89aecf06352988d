using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using SelfAlign.Text.Nlp;

namespace SelfAlign.Evaluation;

/// <summary>
/// IFEval's 25 verifiable instructions, each a check of a response built from the instruction's
/// kwargs, with the semantics of Google's reference (<c>instruction_following_eval/instructions.py</c>):
/// its regular expressions, its word count (Python's <c>\w+</c>), its sentence count (NLTK's English
/// Punkt), its word tokenizer (NLTK's <c>word_tokenize</c>) and its language detector (langdetect).
/// Where the reference would draw a missing kwarg at random, this refuses the item instead, and it
/// counts a non-letter <c>letter</c> as given where the reference draws a random letter.
/// </summary>
public static class IfEvalInstructions
{
    const RegexOptions Py = RegexOptions.CultureInvariant;
    const RegexOptions PyIgnoreCase = RegexOptions.CultureInvariant | RegexOptions.IgnoreCase;
    static readonly string[] ConstrainedResponses = ["My answer is yes.", "My answer is no.", "My answer is maybe."];
    static readonly Regex Words = new($"[{PyText.Word}]+", Py);

    static readonly Dictionary<string, Func<Kwargs, Func<string, bool>>> Checks = new(StringComparer.Ordinal)
    {
        ["keywords:existence"] = k =>
        {
            var keywords = k.Strings("keywords");
            return v => keywords.All(w => Regex.IsMatch(v, w, PyIgnoreCase));
        },
        ["keywords:frequency"] = k =>
        {
            string keyword = k.String("keyword").Trim();
            var (frequency, lessThan) = (k.Int("frequency"), k.Relation("relation"));
            return v => Compare(Regex.Count(v, keyword, PyIgnoreCase), frequency, lessThan);
        },
        ["keywords:forbidden_words"] = k =>
        {
            var words = k.Strings("forbidden_words").Distinct().ToArray();
            return v => !words.Any(w => Regex.IsMatch(v, $@"\b{w}\b", PyIgnoreCase));
        },
        ["keywords:letter_frequency"] = k =>
        {
            // The reference swaps a character that is not an ASCII letter for a random letter (the data's
            // item 1122 asks for '#'), so its verdict there is chance; this counts the character asked for.
            string letter = k.String("letter").Trim();
            if (letter.Length != 1) throw k.Invalid("letter", "must be one character");
            char lower = char.ToLowerInvariant(letter[0]);
            var (frequency, lessThan) = (k.Int("let_frequency"), k.Relation("let_relation"));
            return v => Compare(v.ToLowerInvariant().Count(c => c == lower), frequency, lessThan);
        },
        ["language:response_language"] = k =>
        {
            string language = k.String("language");
            return v => LanguageDetector.Default.Detect(v) is not { } found || found == language;
        },
        ["length_constraints:number_sentences"] = k =>
        {
            var (count, lessThan) = (k.Int("num_sentences"), k.Relation("relation"));
            return v => Compare(PunktSentenceTokenizer.English.Count(v), count, lessThan);
        },
        ["length_constraints:number_paragraphs"] = k =>
        {
            int count = k.Int("num_paragraphs");
            return v => DividedParagraphs(v) == count;
        },
        ["length_constraints:number_words"] = k =>
        {
            var (count, lessThan) = (k.Int("num_words"), k.Relation("relation"));
            return v => Compare(Words.Count(v), count, lessThan);
        },
        ["length_constraints:nth_paragraph_first_word"] = k =>
        {
            var (count, nth, first) = (k.Int("num_paragraphs"), k.Int("nth_paragraph"), k.String("first_word").ToLowerInvariant());
            if (nth <= 0 || nth > count) throw k.Invalid("nth_paragraph", $"must be between 1 and num_paragraphs ({count}), got {nth}");
            return v => NthParagraphStartsWith(v, count, nth, first);
        },
        ["detectable_content:number_placeholders"] = k =>
        {
            int count = k.Int("num_placeholders");
            return v => Regex.Count(v, @"\[.*?\]", Py) >= count;
        },
        ["detectable_content:postscript"] = k =>
        {
            string marker = k.String("postscript_marker").Trim();
            string pattern = marker switch
            {
                "P.P.S" => @"\s*p\.\s?p\.\s?s.*$",
                "P.S." => @"\s*p\.\s?s\..*$",
                _ => @"\s*" + marker.ToLowerInvariant() + ".*$",
            };
            return v => Regex.IsMatch(v.ToLowerInvariant(), pattern, Py | RegexOptions.Multiline);
        },
        ["detectable_format:number_bullet_lists"] = k =>
        {
            int count = k.Int("num_bullets");
            return v => Regex.Count(v, @"^\s*\*[^*].*$", Py | RegexOptions.Multiline) + Regex.Count(v, @"^\s*-.*$", Py | RegexOptions.Multiline) == count;
        },
        ["detectable_format:constrained_response"] = k =>
        {
            k.None();
            return v => ConstrainedResponses.Any(r => v.Trim().Contains(r, StringComparison.Ordinal));
        },
        ["detectable_format:number_highlighted_sections"] = k =>
        {
            int count = k.Int("num_highlights");
            return v => Highlights(v) >= count;
        },
        ["detectable_format:multiple_sections"] = k =>
        {
            var (splitter, count) = (k.String("section_spliter").Trim(), k.Int("num_sections"));
            return v => Regex.Split(v, @"\s?" + splitter + @"\s?\d+\s?", Py).Length - 1 >= count;
        },
        ["detectable_format:json_format"] = k =>
        {
            k.None();
            return IsJson;
        },
        ["detectable_format:title"] = k =>
        {
            k.None();
            return v => Regex.Matches(v, @"<<[^\n]+>>", Py).Any(m => m.Value.TrimStart('<').TrimEnd('>').Trim().Length > 0);
        },
        ["combination:two_responses"] = k =>
        {
            k.None();
            return TwoDifferentResponses;
        },
        ["combination:repeat_prompt"] = k =>
        {
            string prompt = k.String("prompt_to_repeat").Trim().ToLowerInvariant();
            return v => v.Trim().ToLowerInvariant().StartsWith(prompt, StringComparison.Ordinal);
        },
        ["startend:end_checker"] = k =>
        {
            string end = k.String("end_phrase").Trim().ToLowerInvariant();
            return v => v.Trim().Trim('"').ToLowerInvariant().EndsWith(end, StringComparison.Ordinal);
        },
        ["change_case:capital_word_frequency"] = k =>
        {
            var (count, lessThan) = (k.Int("capital_frequency"), k.Relation("capital_relation"));
            return v => Compare(TreebankWordTokenizer.Tokenize(v).Count(PyText.IsUpper), count, lessThan);
        },
        ["change_case:english_capital"] = k =>
        {
            k.None();
            return v => PyText.IsUpper(v) && LanguageDetector.Default.Detect(v) is null or "en";
        },
        ["change_case:english_lowercase"] = k =>
        {
            k.None();
            return v => PyText.IsLower(v) && LanguageDetector.Default.Detect(v) is null or "en";
        },
        ["punctuation:no_comma"] = k =>
        {
            k.None();
            return v => !v.Contains(',');
        },
        ["startend:quotation"] = k =>
        {
            k.None();
            return v => v.Trim() is { Length: > 1 } t && t[0] == '"' && t[^1] == '"';
        },
    };

    /// <summary>The instruction ids, in IFEval's registry order.</summary>
    public static IReadOnlyCollection<string> Ids => Checks.Keys;

    /// <summary>
    /// The check of instruction <paramref name="id"/> with <paramref name="kwargs"/> (null values
    /// count as absent, as lm-evaluation-harness reads the Hugging Face copy of the data).
    /// </summary>
    /// <exception cref="ArgumentException">An unknown id, a missing, unexpected or malformed kwarg; the message names it.</exception>
    public static Func<string, bool> Build(string id, JsonObject kwargs)
    {
        if (!Checks.TryGetValue(id, out var build)) throw new ArgumentException($"unknown IFEval instruction '{id}'");
        var k = new Kwargs(id, kwargs);
        var check = build(k);
        k.RejectUnused();
        return check;
    }

    static bool Compare(int actual, int threshold, bool lessThan) => lessThan ? actual < threshold : actual >= threshold;

    /// <summary>Paragraphs divided by ***, an empty first or last one not counted; an empty one inside fails (-1).</summary>
    static int DividedParagraphs(string v)
    {
        var parts = Regex.Split(v, @"\s?\*\*\*\s?", Py);
        int count = parts.Length;
        for (int i = 0; i < parts.Length; i++)
            if (parts[i].Trim().Length == 0)
            {
                if (i == 0 || i == parts.Length - 1) count--;
                else return -1;
            }
        return count;
    }

    static bool NthParagraphStartsWith(string v, int count, int nth, string first)
    {
        var paragraphs = v.Split("\n\n");
        int nonEmpty = paragraphs.Count(p => p.Trim().Length > 0);
        if (nth > nonEmpty) return false;
        string paragraph = paragraphs[nth - 1].Trim();
        if (paragraph.Length == 0) return false;
        string word = paragraph.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)[0].TrimStart('\'').TrimStart('"');
        int end = word.IndexOfAny(['.', ',', '?', '!', '\'', '"']);
        return nonEmpty == count && (end < 0 ? word : word[..end]).ToLowerInvariant() == first;
    }

    static int Highlights(string v) =>
        Regex.Matches(v, @"\*[^\n*]*\*", Py).Count(m => m.Value.Trim('*').Trim().Length > 0)
        + Regex.Matches(v, @"\*\*[^\n*]*\*\*", Py).Count(m => m.Value[2..^2].Trim().Length > 0);

    static bool IsJson(string v)
    {
        // The reference strips each of these prefixes in turn, then one closing fence.
        string body = v.Trim();
        foreach (string fence in new[] { "```json", "```Json", "```JSON", "```" })
            if (body.StartsWith(fence, StringComparison.Ordinal)) body = body[fence.Length..];
        if (body.EndsWith("```", StringComparison.Ordinal)) body = body[..^3];
        try
        {
            using var _ = JsonDocument.Parse(body.Trim(), new JsonDocumentOptions { MaxDepth = 1000 });
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    static bool TwoDifferentResponses(string v)
    {
        var parts = v.Split("******");
        var valid = new List<string>();
        for (int i = 0; i < parts.Length; i++)
            if (parts[i].Trim().Length == 0)
            {
                if (i != 0 && i != parts.Length - 1) return false;
            }
            else valid.Add(parts[i]);
        return valid.Count == 2 && valid[0].Trim() != valid[1].Trim();
    }

    /// <summary>One instruction's kwargs, read by type, with every key accounted for.</summary>
    sealed class Kwargs(string id, JsonObject values)
    {
        readonly HashSet<string> _used = [];

        JsonNode Get(string key)
        {
            _used.Add(key);
            return values[key] ?? throw Invalid(key, "is missing");
        }

        public ArgumentException Invalid(string key, string why) => new($"{id}: kwarg '{key}' {why}");

        public string String(string key) => Get(key) is JsonValue v && v.TryGetValue<string>(out var s) ? s : throw Invalid(key, "must be a string");

        public int Int(string key) => Get(key) is JsonValue v && v.TryGetValue<double>(out var d) && d == Math.Floor(d) && Math.Abs(d) < int.MaxValue
            ? (int)d : throw Invalid(key, "must be an integer");

        public string[] Strings(string key) => Get(key) is JsonArray a && a.All(x => x is JsonValue v && v.TryGetValue<string>(out _))
            ? [.. a.Select(x => (string)x!)] : throw Invalid(key, "must be a list of strings");

        /// <summary>True for "less than", false for "at least".</summary>
        public bool Relation(string key) => String(key) switch
        {
            "less than" => true,
            "at least" => false,
            var r => throw Invalid(key, $"must be 'less than' or 'at least', got '{r}'"),
        };

        public void None() { }

        public void RejectUnused()
        {
            foreach (var (key, value) in values)
                if (value is not null && !_used.Contains(key)) throw Invalid(key, "is not an argument of this instruction");
        }
    }
}
