namespace SelfAlign.Evaluation;

/// <summary>
/// word2number's <c>word_to_num</c> (akshaynagpal/w2n) for whole numbers, the parser
/// lm-evaluation-harness uses on numbers written in words: the number words are kept, the
/// billion, million and thousand groups multiplied out, and each group read as w2n reads it.
/// </summary>
public static class WordToNumber
{
    static readonly Dictionary<string, long> Words = new(StringComparer.Ordinal)
    {
        ["zero"] = 0, ["one"] = 1, ["two"] = 2, ["three"] = 3, ["four"] = 4, ["five"] = 5, ["six"] = 6, ["seven"] = 7, ["eight"] = 8, ["nine"] = 9,
        ["ten"] = 10, ["eleven"] = 11, ["twelve"] = 12, ["thirteen"] = 13, ["fourteen"] = 14, ["fifteen"] = 15, ["sixteen"] = 16,
        ["seventeen"] = 17, ["eighteen"] = 18, ["nineteen"] = 19, ["twenty"] = 20, ["thirty"] = 30, ["forty"] = 40, ["fifty"] = 50,
        ["sixty"] = 60, ["seventy"] = 70, ["eighty"] = 80, ["ninety"] = 90, ["hundred"] = 100, ["thousand"] = 1000, ["million"] = 1000000,
        ["billion"] = 1000000000,
    };

    /// <summary>The number <paramref name="text"/> spells, or null where w2n raises (no number word, a repeated or misplaced scale word).</summary>
    public static long? Parse(string text)
    {
        text = text.Replace('-', ' ').ToLowerInvariant();
        if (text.Length > 0 && text.All(char.IsAsciiDigit)) return long.Parse(text, System.Globalization.CultureInfo.InvariantCulture);
        var words = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Where(Words.ContainsKey).ToList();
        if (words.Count == 0 || words.Count(w => w == "thousand") > 1 || words.Count(w => w == "million") > 1 || words.Count(w => w == "billion") > 1) return null;
        int billion = words.IndexOf("billion"), million = words.IndexOf("million"), thousand = words.IndexOf("thousand");
        if ((thousand > -1 && (thousand < million || thousand < billion)) || (million > -1 && million < billion)) return null;
        if (words.Count == 1) return Words[words[0]];
        try
        {
            long total = 0;
            if (billion > -1) total += Group(words[..billion]) * 1000000000;
            if (million > -1) total += Group(words[(billion + 1)..million]) * 1000000;
            if (thousand > -1) total += Group(words[(Math.Max(million, billion) + 1)..thousand]) * 1000;
            // w2n's chain, kept as it is: with "thousand" last, the words after "million" are read again.
            int end = words.Count - 1;
            var rest = thousand > -1 && thousand != end ? words[(thousand + 1)..]
                : million > -1 && million != end ? words[(million + 1)..]
                : billion > -1 && billion != end ? words[(billion + 1)..]
                : thousand == -1 && million == -1 && billion == -1 ? words : null;
            if (rest is not null) total += Group(rest);
            return total;
        }
        catch (ArgumentOutOfRangeException)
        {
            return null; // an empty group, where w2n fails on an index
        }
    }

    /// <summary>w2n's <c>number_formation</c>: up to four words, as "a hundred b c", "a hundred b", "a hundred" or "a b".</summary>
    static long Group(List<string> words)
    {
        var n = words.Select(w => Words[w]).ToList();
        return n.Count switch
        {
            4 => n[0] * n[1] + n[2] + n[3],
            3 => n[0] * n[1] + n[2],
            2 => n.Contains(100) ? n[0] * n[1] : n[0] + n[1],
            _ => n[0],
        };
    }
}
