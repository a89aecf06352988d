using System.Text.RegularExpressions;

namespace SelfAlign.Text.Nlp;

/// <summary>
/// NLTK 3.8's <c>word_tokenize</c>: Punkt splits the text into sentences, then each sentence is
/// split the improved Penn Treebank way (NLTK's <c>NLTKWordTokenizer</c>): quotes become `` and '',
/// punctuation and brackets stand alone, a sentence's final period is split off, and contractions
/// split (don't → do n't, cannot → can not).
/// </summary>
public static class TreebankWordTokenizer
{
    static (Regex, string) Rule(string pattern, string replacement) => (new Regex(pattern, RegexOptions.CultureInvariant), replacement);

    static readonly (Regex, string)[] StartingQuotes =
    [
        Rule("([«“‘„]|[`]+)", " $1 "),
        Rule("^\"", "``"),
        Rule("(``)", " $1 "),
        Rule("([ (\\[{<])(\"|'{2})", "$1 `` "),
        Rule($"(?i)(')(?!re|ve|ll|m|t|s|d|n)([{PyText.Word}])\\b", "$1 $2"),
    ];

    static readonly (Regex, string)[] Punctuation =
    [
        Rule("([^.])(\\.)([\\])}>\"'»”’ ]*)\\s*$", "$1 $2 $3 "),
        Rule("([:,])([^\\d])", " $1 $2"),
        Rule("([:,])$", " $1 "),
        Rule("\\.{2,}", " $0 "),
        Rule("[;@#$%&]", " $0 "),
        Rule("([^.])(\\.)([\\])}>\"']*)\\s*$", "$1 $2$3 "),
        Rule("[?!]", " $0 "),
        Rule("([^'])' ", "$1 ' "),
        Rule("[*]", " $0 "),
        Rule("[\\]\\[(){}<>]", " $0 "),
        Rule("--", " -- "),
    ];

    static readonly (Regex, string)[] EndingQuotes =
    [
        Rule("([»”’])", " $1 "),
        Rule("''", " '' "),
        Rule("\"", " '' "),
        Rule("([^' ])('[sS]|'[mM]|'[dD]|') ", "$1 $2 "),
        Rule("([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) ", "$1 $2 "),
    ];

    // Robert MacIntyre's contractions, as NLTK lists them.
    static readonly (Regex, string)[] Contractions =
    [
        .. new[] { "can)(not", "d)('ye", "gim)(me", "gon)(na", "got)(ta", "lem)(me", "more)('n" }.Select(c => Rule($"(?i)\\b({c})\\b", " $1 $2 ")),
        Rule("(?i)\\b(wan)(na)(?=\\s)", " $1 $2 "),
        Rule("(?i) ('t)(is)\\b", " $1 $2 "),
        Rule("(?i) ('t)(was)\\b", " $1 $2 "),
    ];

    /// <summary>The words of <paramref name="text"/>, as <c>nltk.word_tokenize</c> returns them.</summary>
    public static List<string> Tokenize(string text) => [.. PunktSentenceTokenizer.English.Tokenize(text).SelectMany(TokenizeSentence)];

    /// <summary>The words of one sentence (NLTK's <c>NLTKWordTokenizer.tokenize</c>).</summary>
    public static string[] TokenizeSentence(string sentence)
    {
        string text = Apply(StartingQuotes, sentence);
        text = " " + Apply(Punctuation, text) + " ";
        text = Apply(Contractions, Apply(EndingQuotes, text));
        return text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
    }

    static string Apply((Regex, string)[] rules, string text)
    {
        foreach (var (pattern, replacement) in rules) text = pattern.Replace(text, replacement);
        return text;
    }
}
