using System.Text.RegularExpressions;

namespace SelfAlign.Text;

/// <summary>
/// ROUGE-L F-measure as Google's <c>rouge_score</c> computes it without stemming (the Self-Instruct
/// similarity filter): both texts lower-cased, split on every run of characters other than a-z and
/// 0-9, and the longest common subsequence of the tokens weighed as 2PR / (P + R).
/// </summary>
public static partial class RougeL
{
    /// <summary>The tokens ROUGE compares.</summary>
    public static string[] Tokens(string text) => NonAlphanumeric().Replace(text.ToLowerInvariant(), " ").Split(' ', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>The F-measure of <paramref name="prediction"/> against <paramref name="target"/> (symmetric), 0 when either is empty.</summary>
    public static double F(string target, string prediction) => F(Tokens(target), Tokens(prediction));

    /// <summary>The F-measure of two token lists.</summary>
    public static double F(IReadOnlyList<string> target, IReadOnlyList<string> prediction)
    {
        if (target.Count == 0 || prediction.Count == 0) return 0;
        int lcs = LongestCommonSubsequence(target, prediction);
        if (lcs == 0) return 0;
        double precision = (double)lcs / prediction.Count, recall = (double)lcs / target.Count;
        return 2 * precision * recall / (precision + recall);
    }

    static int LongestCommonSubsequence(IReadOnlyList<string> a, IReadOnlyList<string> b)
    {
        var row = new int[b.Count + 1];
        foreach (string x in a)
        {
            int diagonal = 0;
            for (int j = 1; j <= b.Count; j++)
            {
                int above = row[j];
                row[j] = x == b[j - 1] ? diagonal + 1 : Math.Max(row[j], row[j - 1]);
                diagonal = above;
            }
        }
        return row[b.Count];
    }

    [GeneratedRegex("[^a-z0-9]+")]
    private static partial Regex NonAlphanumeric();
}
