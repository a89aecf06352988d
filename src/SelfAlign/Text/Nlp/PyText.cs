using System.Globalization;
using System.Text;

namespace SelfAlign.Text.Nlp;

/// <summary>
/// Python's string semantics where reference checks depend on them: <c>\w</c> in <c>re</c> patterns
/// (letters, every numeric and the underscore; .NET's <c>\w</c> also takes combining marks), and
/// <c>str.isupper</c> / <c>str.islower</c> over whole strings.
/// </summary>
public static class PyText
{
    /// <summary>The body of a character class matching what Python's <c>\w</c> matches.</summary>
    public const string Word = @"\p{L}\p{N}_";

    /// <summary>The body of a character class matching Python's <c>[^\W\d]</c>: word characters that are not decimal digits.</summary>
    public const string WordNotDigit = @"\p{L}\p{Nl}\p{No}_";

    /// <summary>Python's <c>str.isupper()</c>: at least one cased character, and none lower or title case.</summary>
    public static bool IsUpper(string s) => Cases(s) is (true, false);

    /// <summary>Python's <c>str.islower()</c>: at least one cased character, and none upper or title case.</summary>
    public static bool IsLower(string s) => Cases(s) is (false, true);

    /// <summary>Whether <paramref name="s"/> has upper-case letters only among its cased ones (Upper) or lower-case only (Lower); neither when mixed or uncased.</summary>
    static (bool Upper, bool Lower) Cases(string s)
    {
        bool upper = false, lower = false;
        foreach (var rune in s.EnumerateRunes())
            switch (Rune.GetUnicodeCategory(rune))
            {
                case UnicodeCategory.UppercaseLetter: upper = true; break;
                case UnicodeCategory.LowercaseLetter: lower = true; break;
                case UnicodeCategory.TitlecaseLetter: return (false, false);
            }
        return (upper && !lower, lower && !upper);
    }

    /// <summary>Python's <c>str.isupper()</c> of one character (the first code point of <paramref name="s"/> at <paramref name="index"/>).</summary>
    public static bool IsUpperAt(string s, int index) => s.Length > index && Rune.IsUpper(Rune.GetRuneAt(s, index));

    /// <summary>Python's <c>str.islower()</c> of one character.</summary>
    public static bool IsLowerAt(string s, int index) => s.Length > index && Rune.IsLower(Rune.GetRuneAt(s, index));
}
