namespace SelfAlign.Text;

/// <summary>
/// A token of <c>added_tokens</c> in <c>tokenizer.json</c>: matched in raw text before BPE and never
/// split. Special ones (bos, eos, chat markers) are recognised only when the caller allows it.
/// </summary>
/// <param name="Id">Token id.</param>
/// <param name="Content">The exact text of the token.</param>
/// <param name="Special">Control token: skipped when decoding with special tokens skipped.</param>
/// <param name="LStrip">Swallows whitespace on its left.</param>
/// <param name="RStrip">Swallows whitespace on its right.</param>
/// <param name="SingleWord">Matches only where not inside a word.</param>
public sealed record AddedToken(int Id, string Content, bool Special, bool LStrip = false, bool RStrip = false, bool SingleWord = false);

/// <summary>Finds added tokens in text, leftmost first and longest first at one position.</summary>
internal sealed class AddedTokenMatcher
{
    readonly Dictionary<char, AddedToken[]> _byFirstChar;

    public AddedTokenMatcher(IEnumerable<AddedToken> tokens)
    {
        _byFirstChar = tokens.Where(t => t.Content.Length > 0)
            .GroupBy(t => t.Content[0])
            .ToDictionary(g => g.Key, g => g.OrderByDescending(t => t.Content.Length).ToArray());
    }

    /// <summary>
    /// Splits <paramref name="text"/> into plain segments (Token null) and added tokens; special
    /// tokens count only when <paramref name="allowSpecial"/>.
    /// </summary>
    public List<(string Text, AddedToken? Token)> Split(string text, bool allowSpecial)
    {
        var parts = new List<(string, AddedToken?)>();
        int plainStart = 0, i = 0;
        while (i < text.Length)
        {
            var token = MatchAt(text, i, allowSpecial);
            if (token is null) { i++; continue; }
            int start = i, end = i + token.Content.Length;
            if (token.LStrip) while (start > plainStart && char.IsWhiteSpace(text[start - 1])) start--;
            if (token.RStrip) while (end < text.Length && char.IsWhiteSpace(text[end])) end++;
            if (start > plainStart) parts.Add((text[plainStart..start], null));
            parts.Add((token.Content, token));
            plainStart = i = end;
        }
        if (plainStart < text.Length) parts.Add((text[plainStart..], null));
        return parts;
    }

    AddedToken? MatchAt(string text, int i, bool allowSpecial)
    {
        if (!_byFirstChar.TryGetValue(text[i], out var candidates)) return null;
        foreach (var t in candidates)
        {
            if (t.Special && !allowSpecial) continue;
            if (string.CompareOrdinal(text, i, t.Content, 0, t.Content.Length) != 0) continue;
            if (t.SingleWord && !AtWordBoundary(text, i, i + t.Content.Length)) continue;
            return t;
        }
        return null;
    }

    static bool AtWordBoundary(string text, int start, int end) =>
        (start == 0 || !IsWordChar(text[start - 1])) && (end == text.Length || !IsWordChar(text[end]));

    static bool IsWordChar(char c) => char.IsLetterOrDigit(c) || c == '_';
}
