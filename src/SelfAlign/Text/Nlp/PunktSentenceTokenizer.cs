using System.IO.Compression;
using System.Text.RegularExpressions;

namespace SelfAlign.Text.Nlp;

/// <summary>
/// The Punkt sentence tokenizer (Kiss and Strunk, 2006) as NLTK 3.8 runs it, with NLTK's pretrained
/// English model: the tokenizer behind <c>nltk.sent_tokenize</c>, which IFEval counts sentences with.
/// A period ends a sentence unless the model knows the word before it as an abbreviation, or the
/// word after it as one that rarely starts a sentence (its orthographic context), or the pair as a
/// collocation; ? and ! always do. Closing quotes and brackets after the boundary stay with the sentence.
/// </summary>
public sealed class PunktSentenceTokenizer
{
    // Orthographic contexts: a type seen upper or lower case at the beginning, middle or an unknown place in a sentence.
    const int BegUpper = 1 << 1, MidUpper = 1 << 2, UnkUpper = 1 << 3, BegLower = 1 << 4, MidLower = 1 << 5, UnkLower = 1 << 6;
    const int Upper = BegUpper | MidUpper | UnkUpper, Lower = BegLower | MidLower | UnkLower;

    // PunktLanguageVars: the characters that cannot be inside a word, multi-character punctuation, how words split.
    const string NonWord = @"(?:[)"";}\]*:@'({\[?!])";
    const string MultiChar = @"(?:-{2,}|\.{2,}|(?:\.\s){2,}\.)";
    static readonly Regex WordPattern = new(
        $@"{MultiChar}|(?=[^(""`{{\[:;&#*@)}}\]\-,])\S+?(?=\s|$|{NonWord}|{MultiChar}|,(?=$|\s|{NonWord}|{MultiChar}))|\S", RegexOptions.CultureInvariant);
    static readonly Regex PeriodContext = new($@"[.?!](?=(?<after>{NonWord}|\s+(?<next>\S+)))", RegexOptions.CultureInvariant);
    static readonly Regex BoundaryRealignment = new(@"\A[""')\]}]+?(?:\s+|(?=--)|$)", RegexOptions.Multiline | RegexOptions.CultureInvariant);
    static readonly Regex Numeric = new(@"^-?[.,]?\d[\d,.\-]*\.?$", RegexOptions.CultureInvariant);
    static readonly Regex Initial = new($@"^[{PyText.WordNotDigit}]\.$", RegexOptions.CultureInvariant);
    static readonly Regex Ellipsis = new(@"^\.\.+$", RegexOptions.CultureInvariant);
    static readonly char[] Punctuation = [';', ':', ',', '.', '!', '?'];
    const string PythonWhitespace = " \t\n\r\v\f";

    readonly HashSet<string> _abbreviations = new(StringComparer.Ordinal), _starters = new(StringComparer.Ordinal);
    readonly HashSet<(string, string)> _collocations = [];
    readonly Dictionary<string, int> _ortho = new(StringComparer.Ordinal);

    static readonly Lazy<PunktSentenceTokenizer> LazyEnglish = new(() => Load("punkt-english.tsv.gz"));

    /// <summary>NLTK's pretrained English model (<c>tokenizers/punkt/english.pickle</c>).</summary>
    public static PunktSentenceTokenizer English => LazyEnglish.Value;

    PunktSentenceTokenizer() { }

    /// <summary>Reads a model written as rows <c>abbrev T</c>, <c>colloc A B</c>, <c>starter T</c>, <c>ortho T FLAGS</c> from the embedded resources.</summary>
    static PunktSentenceTokenizer Load(string resource)
    {
        var model = new PunktSentenceTokenizer();
        using var stream = new GZipStream(NlpResources.Open(resource), CompressionMode.Decompress);
        using var reader = new StreamReader(stream);
        while (reader.ReadLine() is { } line)
        {
            var f = line.Split('\t');
            switch (f[0])
            {
                case "abbrev": model._abbreviations.Add(f[1]); break;
                case "colloc": model._collocations.Add((f[1], f[2])); break;
                case "starter": model._starters.Add(f[1]); break;
                case "ortho": model._ortho[f[1]] = int.Parse(f[2], System.Globalization.CultureInfo.InvariantCulture); break;
                default: throw new InvalidDataException($"{resource}: unknown row kind '{f[0]}'");
            }
        }
        return model;
    }

    /// <summary>The sentences of <paramref name="text"/>, as NLTK's <c>tokenize</c> returns them.</summary>
    public List<string> Tokenize(string text) => [.. Spans(text).Select(s => text[s.Start..s.End])];

    /// <summary>How many sentences <paramref name="text"/> has.</summary>
    public int Count(string text) => Spans(text).Count();

    /// <summary>The sentence spans, boundaries realigned past closing punctuation.</summary>
    IEnumerable<(int Start, int End)> Spans(string text)
    {
        int realign = 0;
        (int Start, int End)? previous = null;
        foreach (var next in Slices(text))
        {
            if (previous is { } p)
            {
                var first = (Start: p.Start + realign, p.End);
                var m = BoundaryRealignment.Match(text[next.Start..next.End]);
                if (m.Success)
                {
                    yield return (first.Start, next.Start + m.Value.TrimEnd().Length);
                    realign = m.Length;
                }
                else
                {
                    realign = 0;
                    if (first.Start < first.End) yield return first;
                }
            }
            previous = next;
        }
        if (previous is { } last && last.Start + realign < last.End) yield return (last.Start + realign, last.End);
    }

    /// <summary>The unaligned sentence slices: a break after each candidate whose context annotates one.</summary>
    IEnumerable<(int Start, int End)> Slices(string text)
    {
        int lastBreak = 0;
        foreach (var (match, context) in PotentialEnds(text))
            if (ContainsBreak(context))
            {
                int end = match.Index + match.Length;
                yield return (lastBreak, end);
                var next = match.Groups["next"];
                lastBreak = next.Success ? next.Index : end;
            }
        yield return (lastBreak, Math.Max(lastBreak, text.TrimEnd().Length));
    }

    /// <summary>Each candidate end with its decision context: the word before it, itself and what follows.</summary>
    static IEnumerable<(Match Match, string Context)> PotentialEnds(string text)
    {
        (int Start, int Stop) previousSlice = (0, 0);
        Match? previousMatch = null;
        foreach (Match match in PeriodContext.Matches(text))
        {
            int lastSpace = text.AsSpan(previousSlice.Stop, Math.Max(0, match.Index - previousSlice.Stop)).LastIndexOfAny(PythonWhitespace);
            int wordStart = lastSpace > 0 ? lastSpace + previousSlice.Stop + 1 : previousSlice.Start;
            if (previousMatch is not null && previousSlice.Stop <= wordStart) yield return (previousMatch, Context(text, previousSlice, previousMatch));
            previousMatch = match;
            previousSlice = (wordStart, match.Index);
        }
        if (previousMatch is not null) yield return (previousMatch, Context(text, previousSlice, previousMatch));
    }

    static string Context(string text, (int Start, int Stop) word, Match match) =>
        (word.Start < word.Stop ? text[word.Start..word.Stop] : "") + match.Value + match.Groups["after"].Value;

    bool ContainsBreak(string context)
    {
        bool found = false;
        foreach (var token in Annotate(Words(context)))
        {
            if (found) return true;
            if (token.SentenceBreak) found = true;
        }
        return false;
    }

    /// <summary>A word of the text with its Punkt annotations.</summary>
    sealed class Token(string text)
    {
        public readonly string Text = text;
        public readonly string Type = Numeric.Replace(text.ToLowerInvariant(), "##number##");
        public bool PeriodFinal => Text.EndsWith('.');
        public bool SentenceBreak, Abbreviation, IsEllipsis;
        public string TypeNoPeriod => Type.Length > 1 && Type[^1] == '.' ? Type[..^1] : Type;
        public string TypeNoSentencePeriod => SentenceBreak ? TypeNoPeriod : Type;
        public bool FirstUpper => PyText.IsUpperAt(Text, 0);
        public bool FirstLower => PyText.IsLowerAt(Text, 0);
        public bool IsInitial => Initial.IsMatch(Text);
    }

    static IEnumerable<Token> Words(string text)
    {
        foreach (string line in text.Split('\n'))
            if (!string.IsNullOrWhiteSpace(line))
                foreach (Match m in WordPattern.Matches(line)) yield return new Token(m.Value);
    }

    IEnumerable<Token> Annotate(IEnumerable<Token> tokens)
    {
        Token? previous = null;
        foreach (var token in tokens)
        {
            FirstPass(token);
            if (previous is not null)
            {
                SecondPass(previous, token);
                yield return previous;
            }
            previous = token;
        }
        if (previous is not null) yield return previous;
    }

    /// <summary>Sentence-end characters break; ellipses and known abbreviations do not; other period-final words do.</summary>
    void FirstPass(Token token)
    {
        string tok = token.Text;
        if (tok is "." or "?" or "!") token.SentenceBreak = true;
        else if (Ellipsis.IsMatch(tok)) token.IsEllipsis = true;
        else if (token.PeriodFinal && !tok.EndsWith("..", StringComparison.Ordinal))
        {
            string bare = tok[..^1].ToLowerInvariant();
            if (_abbreviations.Contains(bare) || _abbreviations.Contains(bare.Split('-')[^1])) token.Abbreviation = true;
            else token.SentenceBreak = true;
        }
    }

    /// <summary>Revises a period-final word's decision from the word after it: collocations, the orthographic heuristic, frequent starters.</summary>
    void SecondPass(Token token, Token next)
    {
        if (!token.PeriodFinal) return;
        string type = token.TypeNoPeriod, nextType = next.TypeNoSentencePeriod;
        bool initial = token.IsInitial;
        if (_collocations.Contains((type, nextType)))
        {
            token.SentenceBreak = false;
            token.Abbreviation = true;
            return;
        }
        if ((token.Abbreviation || token.IsEllipsis) && !initial)
        {
            if (OrthoHeuristic(next) == true || (next.FirstUpper && _starters.Contains(nextType)))
            {
                token.SentenceBreak = true;
                return;
            }
        }
        if (initial || type == "##number##")
        {
            var starter = OrthoHeuristic(next);
            if (starter == false || (starter is null && initial && next.FirstUpper && (_ortho.GetValueOrDefault(nextType) & Lower) == 0))
            {
                token.SentenceBreak = false;
                token.Abbreviation = true;
            }
        }
    }

    /// <summary>Whether the word starts a sentence by how the model saw its type cased: true, false, or null (unknown).</summary>
    bool? OrthoHeuristic(Token token)
    {
        if (token.Text.Length == 1 && Array.IndexOf(Punctuation, token.Text[0]) >= 0) return false;
        int context = _ortho.GetValueOrDefault(token.TypeNoSentencePeriod);
        if (token.FirstUpper && (context & Lower) != 0 && (context & MidUpper) == 0) return true;
        if (token.FirstLower && ((context & Upper) != 0 || (context & BegLower) == 0)) return false;
        return null;
    }
}
