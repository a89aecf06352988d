using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace SelfAlign.Evaluation;

/// <summary>
/// How lm-evaluation-harness's BBH zero-shot tasks take the answer out of a response (its
/// "flexible-extract" filters) and score it (exact match after its ignore rules). Five kinds of
/// filter, as the harness's <c>RegexFilter</c> and <c>bbh/zeroshot/utils.py</c> define them; the
/// regular expressions come from the task settings, Python's <c>findall</c> and <c>strip</c> semantics kept.
/// </summary>
public sealed class BbhAnswer
{
    /// <summary>What the harness answers when nothing is found.</summary>
    public const string Invalid = "[invalid]";

    // The harness's parser of numbers in words (its "(?|" groups hold no captures, so plain groups match the same).
    static readonly Regex EnglishNumber = new(
        "((?:(?:zero|one|two|three|four|five|(?:twen|thir|for|fif|six|seven|nine)(?:teen|ty)|eight(?:|een|y)|ten|eleven|twelve|fourteen|hundred|thousand|(?:m|b|tr)illion)" +
        "(?:zero|one|two|three|four|five|(?:twen|thir|for|fif|six|seven|nine)(?:|teen|ty)|eight(?:|een|y)|ten|eleven|twelve|fourteen|hundred|thousand|(?:m|b|tr)illion|[^\\S\\r\\n]|,|and|&)+)?" +
        "(?:zero|one|two|three|four|five|(?:twen|thir|for|fif|six|seven|nine)(?:teen|ty)|eight(?:|een|y)|ten|eleven|twelve|fourteen|hundred|thousand|(?:m|b|tr)illion))",
        RegexOptions.CultureInvariant);
    static readonly Regex Options = new(@"\([A-Z]\)([^\n^(]*)", RegexOptions.CultureInvariant);

    readonly string _kind;
    readonly Regex? _pattern;
    readonly (Regex Pattern, string Value)[] _map = [];
    readonly bool _ignoreCase, _ignorePunctuation;

    /// <summary>A filter from a task's settings: <c>kind</c> (regex, multiple_choice, map_regex, number_parse, word_sort) and its fields.</summary>
    public BbhAnswer(JsonElement filter)
    {
        _kind = filter.GetProperty("kind").GetString()!;
        _ignoreCase = filter.TryGetProperty("ignore_case", out var c) && c.GetBoolean();
        _ignorePunctuation = filter.TryGetProperty("ignore_punctuation", out var p) && p.GetBoolean();
        if (filter.TryGetProperty("regex_pattern_to_value", out var map))
        {
            _map = [.. map.EnumerateObject().Select(m => (new Regex(m.Name, RegexOptions.CultureInvariant), m.Value.GetString()!))];
            _pattern = new Regex(string.Join('|', map.EnumerateObject().Select(m => m.Name)), RegexOptions.CultureInvariant);
        }
        else if (filter.TryGetProperty("regex_pattern", out var pattern)) _pattern = new Regex(pattern.GetString()!, RegexOptions.CultureInvariant);
        if (_kind is not ("regex" or "multiple_choice" or "map_regex" or "number_parse" or "word_sort") || (_pattern is null && _kind != "word_sort"))
            throw new ArgumentException($"unknown answer filter '{_kind}' or a filter without its pattern");
    }

    /// <summary>The answer the harness extracts from <paramref name="response"/> to the question <paramref name="input"/>.</summary>
    public string Extract(string response, string input) => _kind switch
    {
        "regex" => First(_pattern!, response, strict: true) ?? Invalid,
        "map_regex" => Mapped(response),
        "number_parse" => NonEmpty(First(_pattern!, response)) ?? Number(response) ?? Invalid,
        "multiple_choice" => Choice(response, input),
        _ => SortedWords(response, input),
    };

    /// <summary>
    /// Python's <c>findall(text)[0]</c>, stripped: the whole match without groups, the group with one,
    /// the first non-empty group with several. Null when nothing matches, or (strict, as the harness's
    /// RegexFilter) when every group of the first match is empty.
    /// </summary>
    static string? First(Regex regex, string text, bool strict = false)
    {
        var m = regex.Match(text);
        if (!m.Success) return null;
        int groups = m.Groups.Count - 1;
        string value = groups switch
        {
            0 => m.Value,
            1 => m.Groups[1].Value,
            _ => Enumerable.Range(1, groups).Select(g => m.Groups[g].Value).FirstOrDefault(v => v.Length > 0) ?? (strict ? Invalid : ""),
        };
        return value.Trim();
    }

    static string? NonEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;

    /// <summary>The harness's ignore rules of a filter: lower case, then punctuation (every Unicode P category) removed.</summary>
    string Ignore(string s)
    {
        if (_ignoreCase) s = s.ToLowerInvariant();
        if (_ignorePunctuation) s = string.Concat(s.EnumerateRunes().Where(r => !IsPunctuation(r)).Select(r => r.ToString()));
        return s;
    }

    static bool IsPunctuation(Rune r) => Rune.GetUnicodeCategory(r) is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation
        or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
        or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation;

    string Mapped(string response)
    {
        if (NonEmpty(First(_pattern!, Ignore(response))) is not { } whole) return Invalid;
        foreach (var (pattern, value) in _map)
            if (NonEmpty(First(pattern, Ignore(whole))) is not null) return value;
        return Invalid;
    }

    static string? Number(string response) =>
        NonEmpty(First(EnglishNumber, response.ToLowerInvariant())) is { } words && WordToNumber.Parse(words) is { } n ? n.ToString(CultureInfo.InvariantCulture) : null;

    /// <summary>The option letter: as written "(X)", else an option's text in the response, else ": X".</summary>
    string Choice(string response, string input)
    {
        if (NonEmpty(First(_pattern!, response)) is { } written) return written;
        var texts = new List<string>();
        var letters = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (Match m in Options.Matches(input))
        {
            string text = Ignore(m.Groups[1].Value.Trim());
            letters[text] = $"({(char)('A' + texts.Count)})";
            texts.Add(text);
        }
        if (texts.Count > 0)
        {
            var byText = new Regex(string.Join('|', texts.Select(Regex.Escape)), RegexOptions.CultureInvariant);
            if (NonEmpty(First(byText, Ignore(response))) is { } found) return letters.GetValueOrDefault(found, found);
            var byLetter = new Regex($@":[\s]*({string.Join('|', Enumerable.Range(0, texts.Count).Select(i => (char)('A' + i)))})", RegexOptions.CultureInvariant);
            if (NonEmpty(First(byLetter, response)) is { } letter) return $"({letter})";
        }
        return Invalid;
    }

    /// <summary>The question's words in the order of their last mention in the response.</summary>
    static string SortedWords(string response, string input)
    {
        var parts = input.Split("List:");
        if (parts.Length < 2) return "";
        var words = parts[1].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (words.Length == 0) return "";
        var mentions = new Regex(string.Join('|', words.Select(w => $@"\b{w}\b")), RegexOptions.CultureInvariant).Matches(response).Select(m => m.Value).ToList();
        var order = new List<string>();
        for (int i = mentions.Count - 1; i >= 0; i--)
            if (!order.Contains(mentions[i])) order.Add(mentions[i]);
        order.Reverse();
        return string.Join(' ', order);
    }

    /// <summary>
    /// The harness's <c>exact_match</c> with BBH's settings: each of <paramref name="ignore"/>
    /// removed from both strings, both lower-cased when <paramref name="ignoreCase"/>, then compared.
    /// </summary>
    public static bool ExactMatch(string prediction, string target, IEnumerable<Regex> ignore, bool ignoreCase)
    {
        foreach (var regex in ignore)
        {
            prediction = regex.Replace(prediction, "");
            target = regex.Replace(target, "");
        }
        return ignoreCase ? prediction.ToLowerInvariant() == target.ToLowerInvariant() : prediction == target;
    }
}
