using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace SelfAlign.Text.Nlp;

/// <summary>
/// langdetect 1.0.9 (Shuyo's language-detection as ported to Python), the detector IFEval's
/// reference uses: its 55 language profiles of character 1- to 3-gram frequencies, its text
/// normalization, and its naive-Bayes estimate averaged over 7 trials of randomly drawn n-grams,
/// each with a randomly smoothed prior. The random draws are CPython's, seeded as
/// <c>DetectorFactory.seed = 0</c> (langdetect's own way to make results repeatable), so a verdict
/// here equals langdetect's with that seed.
/// </summary>
public sealed class LanguageDetector
{
    const double Alpha = 0.5, AlphaWidth = 0.05, ProbabilityThreshold = 0.1, ConvergenceThreshold = 0.99999, BaseFrequency = 10000;
    const int Trials = 7, IterationLimit = 1000, MaxTextLength = 10000;
    static readonly Regex Url = new("https?://[-_.?&~;+=/#0-9A-Za-z]{1,2076}", RegexOptions.CultureInvariant);
    static readonly Regex Mail = new("[-_.0-9A-Za-z]{1,64}@[-_0-9A-Za-z]{1,255}[-_.0-9A-Za-z]{1,255}", RegexOptions.CultureInvariant);

    static readonly Lazy<LanguageDetector> LazyDefault = new(Load);

    /// <summary>The detector with langdetect's 55 profiles.</summary>
    public static LanguageDetector Default => LazyDefault.Value;

    readonly string[] _languages;
    readonly Dictionary<string, double[]> _probabilities;
    readonly Normalization _normalization;

    LanguageDetector(string[] languages, Dictionary<string, double[]> probabilities, Normalization normalization) =>
        (_languages, _probabilities, _normalization) = (languages, probabilities, normalization);

    /// <summary>The ISO 639-1 codes (and zh-cn, zh-tw) the detector knows.</summary>
    public IReadOnlyList<string> Languages => _languages;

    /// <summary>
    /// The most probable language of <paramref name="text"/> (langdetect's <c>detect</c>): "unknown"
    /// when none is above 0.1, null when the text has no n-gram the profiles know (where langdetect raises).
    /// </summary>
    public string? Detect(string text) => Probabilities(text) is { } p ? (p.Count > 0 ? p[0].Language : "unknown") : null;

    /// <summary>The languages above 0.1 probability, most probable first (langdetect's <c>detect_langs</c>); null without features.</summary>
    public List<(string Language, double Probability)>? Probabilities(string text)
    {
        var ngrams = NGrams(Clean(Prepare(text)));
        if (ngrams.Count == 0) return null;
        int languages = _languages.Length;
        var total = new double[languages];
        var random = new PythonRandom(0);
        for (int trial = 0; trial < Trials; trial++)
        {
            var prob = new double[languages];
            Array.Fill(prob, 1.0 / languages);
            double alpha = Alpha + random.Gauss(0.0, 1.0) * AlphaWidth, weight = alpha / BaseFrequency;
            for (int i = 0; ; i++)
            {
                var word = ngrams[random.Below(ngrams.Count)];
                for (int j = 0; j < languages; j++) prob[j] *= weight + word[j];
                if (i % 5 == 0 && (Normalize(prob) > ConvergenceThreshold || i >= IterationLimit)) break;
            }
            for (int j = 0; j < languages; j++) total[j] += prob[j] / Trials;
        }
        return [.. Enumerable.Range(0, languages).Where(j => total[j] > ProbabilityThreshold)
            .Select(j => (_languages[j], total[j])).OrderByDescending(x => x.Item2)];
    }

    /// <summary>Scales to sum 1 (summed in order, as Python's <c>sum</c>) and returns the largest.</summary>
    static double Normalize(double[] prob)
    {
        double sum = 0, max = 0;
        foreach (double p in prob) sum += p;
        for (int i = 0; i < prob.Length; i++)
        {
            prob[i] /= sum;
            max = Math.Max(max, prob[i]);
        }
        return max;
    }

    /// <summary>URLs and mail addresses out, Vietnamese marks composed, repeated spaces collapsed, the first 10,000 characters kept.</summary>
    List<int> Prepare(string text)
    {
        text = _normalization.ComposeVietnamese(Mail.Replace(Url.Replace(text, " "), " "));
        var kept = new List<int>();
        int previous = 0, seen = 0;
        foreach (var rune in text.EnumerateRunes())
        {
            if (seen++ >= MaxTextLength) break;
            if (rune.Value != ' ' || previous != ' ') kept.Add(rune.Value);
            previous = rune.Value;
        }
        return kept;
    }

    /// <summary>
    /// Drops Latin letters from text written mostly in another script. As in langdetect, every
    /// character from U+0300 up counts as non-Latin (its test meant to spare Latin Extended
    /// Additional compares a block number with a name, so it never does).
    /// </summary>
    static List<int> Clean(List<int> text)
    {
        int latin = text.Count(c => c is >= 'A' and <= 'z'), nonLatin = text.Count(c => c >= 0x300);
        return latin * 2 < nonLatin ? [.. text.Where(c => c is < 'A' or > 'z')] : text;
    }

    /// <summary>The text's 1- to 3-grams that some profile knows, in text order (words in capitals skipped).</summary>
    List<double[]> NGrams(List<int> text)
    {
        var result = new List<double[]>();
        var grams = new List<int> { ' ' };
        bool capitalWord = false;
        var key = new StringBuilder();
        foreach (int raw in text)
        {
            int ch = _normalization.Normalize(raw);
            int last = grams[^1];
            if (last == ' ')
            {
                grams.Clear();
                grams.Add(' ');
                capitalWord = false;
                if (ch == ' ') continue;
            }
            else if (grams.Count >= 3) grams.RemoveAt(0);
            grams.Add(ch);
            if (!IsUpper(ch)) capitalWord = false;
            else if (IsUpper(last)) capitalWord = true;
            if (capitalWord) continue;
            for (int n = 1; n <= 3 && n <= grams.Count; n++)
            {
                if (n == 1 && grams[^1] == ' ') continue;
                key.Clear();
                for (int k = grams.Count - n; k < grams.Count; k++) key.Append(char.ConvertFromUtf32(grams[k]));
                if (_probabilities.TryGetValue(key.ToString(), out var p)) result.Add(p);
            }
        }
        return result;
    }

    static bool IsUpper(int c) => Rune.IsValid(c) && Rune.IsUpper(new Rune(c));

    static LanguageDetector Load()
    {
        var names = new List<string>();
        var profiles = new List<(Dictionary<string, long> Freq, long[] Words)>();
        using (var reader = new StreamReader(new GZipStream(NlpResources.Open("langdetect-profiles.jsonl.gz"), CompressionMode.Decompress)))
            while (reader.ReadLine() is { } line)
            {
                using var doc = JsonDocument.Parse(line);
                var root = doc.RootElement;
                names.Add(root.GetProperty("name").GetString()!);
                profiles.Add((root.GetProperty("freq").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt64(), StringComparer.Ordinal),
                    [.. root.GetProperty("n_words").EnumerateArray().Select(v => v.GetInt64())]));
            }
        var probabilities = new Dictionary<string, double[]>(StringComparer.Ordinal);
        for (int index = 0; index < profiles.Count; index++)
            foreach (var (word, count) in profiles[index].Freq)
            {
                if (!probabilities.TryGetValue(word, out var p)) probabilities[word] = p = new double[profiles.Count];
                int length = word.EnumerateRunes().Count();
                if (length is >= 1 and <= 3) p[index] = 1.0 * count / profiles[index].Words[length - 1];
            }
        return new LanguageDetector([.. names], probabilities, Normalization.Load());
    }

    /// <summary>langdetect's character normalization (its messages.properties tables).</summary>
    sealed class Normalization
    {
        readonly string _latin1Excluded;
        readonly Dictionary<int, int> _cjk = [];
        readonly string _vietnameseLetters, _vietnameseMarks;
        readonly string[] _vietnameseComposed;
        readonly Regex _vietnamese;

        Normalization(Dictionary<string, string> messages, List<string> kanjiClasses)
        {
            _latin1Excluded = messages["NGram.LATIN1_EXCLUDE"];
            foreach (string kanji in kanjiClasses)
                foreach (var rune in kanji.EnumerateRunes()) _cjk[rune.Value] = kanji.EnumerateRunes().First().Value;
            _vietnameseLetters = messages["TO_NORMALIZE_VI_CHARS"];
            _vietnameseMarks = messages["DMARK_CLASS"];
            _vietnameseComposed = [.. new[] { "0300", "0301", "0303", "0309", "0323" }.Select(m => messages["NORMALIZED_VI_CHARS_" + m])];
            _vietnamese = new Regex($"([{_vietnameseLetters}])([{_vietnameseMarks}])", RegexOptions.CultureInvariant);
        }

        public static Normalization Load()
        {
            var messages = new Dictionary<string, string>(StringComparer.Ordinal);
            var kanji = new List<string>();
            using var reader = new StreamReader(NlpResources.Open("langdetect-messages.properties"));
            while (reader.ReadLine() is { } line)
            {
                int eq = line.Trim().IndexOf('=');
                if (eq < 0) continue;
                string key = line.Trim()[..eq], value = Regex.Unescape(line.Trim()[(eq + 1)..]);
                messages[key] = value;
                if (key.StartsWith("NGram.KANJI_", StringComparison.Ordinal)) kanji.Add(value);
            }
            return new Normalization(messages, kanji);
        }

        /// <summary>A letter followed by a combining mark becomes the precomposed Vietnamese letter.</summary>
        public string ComposeVietnamese(string text) => _vietnamese.Replace(text, m =>
            _vietnameseComposed[_vietnameseMarks.IndexOf(m.Groups[2].Value[0])][_vietnameseLetters.IndexOf(m.Groups[1].Value[0])].ToString());

        /// <summary>One character as langdetect counts it: punctuation to space, scripts to a representative, CJK to its class.</summary>
        public int Normalize(int ch) => ch switch
        {
            < 0x80 => ch is < 'A' or (> 'Z' and < 'a') or > 'z' ? ' ' : ch,
            < 0x100 => _latin1Excluded.Contains((char)ch) ? ' ' : ch,
            0x219 => 0x15f,
            0x21b => 0x163,
            >= 0x2000 and <= 0x206f => ' ',
            0x6cc => 0x64a,
            >= 0x1ea0 and <= 0x1eff => 0x1ec3,
            >= 0x3040 and <= 0x309f => 0x3042,
            >= 0x30a0 and <= 0x30ff => 0x30a2,
            (>= 0x3100 and <= 0x312f) or (>= 0x31a0 and <= 0x31bf) => 0x3105,
            >= 0x4e00 and <= 0x9fff => _cjk.GetValueOrDefault(ch, ch),
            >= 0xac00 and <= 0xd7af => 0xac00,
            _ => ch,
        };
    }
}
