using SelfAlign.Text;

namespace SelfAlign.Judging;

/// <summary>Which spellings of a label word count as that label.</summary>
public enum LabelVariants
{
    /// <summary>The word exactly as written ("Yes").</summary>
    Exact,
    /// <summary>The word with and without a leading space ("Yes", " Yes").</summary>
    Space,
    /// <summary>Leading space and case (as written, lower, upper, capitalized): "Yes", " Yes", "yes", " yes", "YES", " YES".</summary>
    SpaceAndCase,
    /// <summary>
    /// Every token of " Yes" as the tokenizer encodes it, summed: the IPO authors' evaluation code
    /// (<c>tokenizer.encode(" Yes", add_special_tokens=False)</c>). Where that is more than one token
    /// (a SentencePiece vocabulary may give "▁" and "▁Yes"), each counts, as in their code.
    /// </summary>
    Encoded,
}

/// <summary>
/// A label word resolved to the vocabulary: every spelling of it that is a single token. BPE
/// vocabularies give "Yes" and " Yes" different ids (<c>Yes</c> and <c>▁Yes</c> in SentencePiece
/// ones), and a model may answer with either, so a label's probability is the sum over its spellings.
/// </summary>
/// <param name="Word">The label as written.</param>
/// <param name="Spellings">The spellings found, each a single token.</param>
/// <param name="Ids">Their token ids, in the same order.</param>
public sealed record LabelTokens(string Word, IReadOnlyList<string> Spellings, IReadOnlyList<int> Ids)
{
    /// <summary>Finds the single-token spellings of <paramref name="word"/>; fails when there is none.</summary>
    public static LabelTokens Resolve(Tokenizer tokenizer, string word, LabelVariants variants)
    {
        if (variants == LabelVariants.Encoded)
        {
            var ids = tokenizer.Encode(" " + word);
            return ids.Count > 0 ? new LabelTokens(word, ids.Select(id => tokenizer.IdToToken(id) ?? id.ToString()).ToArray(), ids)
                : throw new ArgumentException($"the label ' {word}' encodes to no token");
        }
        IEnumerable<string> cases = variants == LabelVariants.SpaceAndCase
            ? [word, word.ToLowerInvariant(), word.ToUpperInvariant(), char.ToUpperInvariant(word[0]) + word[1..].ToLowerInvariant()]
            : [word];
        IEnumerable<string> spelled = variants == LabelVariants.Exact ? cases : cases.SelectMany(c => new[] { c, " " + c });
        var found = spelled.Distinct()
            .Select(s => (Spelling: s, Id: tokenizer.PieceId(s)))
            .Where(x => x.Id is not null)
            .DistinctBy(x => x.Id)
            .ToArray();
        if (found.Length == 0)
            throw new ArgumentException($"the label '{word}' is not a single token in this vocabulary in any allowed spelling");
        return new LabelTokens(word, found.Select(f => f.Spelling).ToArray(), found.Select(f => f.Id!.Value).ToArray());
    }

    /// <summary>log of the summed probability of the spellings, from their log-probabilities.</summary>
    public static double LogSum(ReadOnlySpan<double> logProbs)
    {
        double max = double.NegativeInfinity;
        foreach (double x in logProbs) max = Math.Max(max, x);
        if (double.IsNegativeInfinity(max)) return max;
        double sum = 0;
        foreach (double x in logProbs) sum += Math.Exp(x - max);
        return max + Math.Log(sum);
    }
}
