using System.Globalization;
using System.Text.RegularExpressions;

namespace SelfAlign.Judging;

/// <summary>
/// Reads the score from an additive judgment: the last "Score: N" in the text, case-insensitive,
/// tolerating quotes, bold markers and an "out of 5" suffix ("Score: **4**", "score: 4/5"). A
/// judgment whose last score is a fraction, another scale or outside 0-5 has no score.
/// </summary>
public static partial class ScoreParser
{
    /// <summary>The highest score the additive prompt awards.</summary>
    public const int MaxScore = 5;

    [GeneratedRegex(@"score\s*[:：]\s*[*""“'`]*\s*(?<n>[+-]?\d+(?:[.,]\d+)?)(?:\s*(?:/|out\s+of)\s*(?<of>\d+))?", RegexOptions.IgnoreCase)]
    private static partial Regex ScorePattern();

    /// <summary>The score 0-5, or null when the judgment has no parsable one.</summary>
    public static int? Parse(string judgment)
    {
        var matches = ScorePattern().Matches(judgment);
        if (matches.Count == 0) return null;
        var last = matches[^1];
        if (last.Groups["of"].Success && last.Groups["of"].Value != MaxScore.ToString(CultureInfo.InvariantCulture)) return null;
        if (!decimal.TryParse(last.Groups["n"].Value.Replace(',', '.'), NumberStyles.Float, CultureInfo.InvariantCulture, out var n)) return null;
        if (n != decimal.Truncate(n) || n < 0 || n > MaxScore) return null;
        return (int)n;
    }
}
