using System.Text.Json;
using SelfAlign.Text.Nlp;
using Xunit;

namespace SelfAlign.Tests.Text;

/// <summary>
/// The text tools IFEval's checks rest on, against the reference libraries themselves (NLTK 3.8 with
/// its English Punkt model, langdetect 1.0.9 seeded 0; fixtures/ifeval/nlp.json from make_fixtures.py).
/// </summary>
public sealed class NlpReferenceTests
{
    static readonly JsonElement Fixture = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestModels.Fixtures, "ifeval", "nlp.json"))).RootElement;

    static IEnumerable<(string Text, JsonElement Row)> Rows(string name) =>
        Fixture.GetProperty(name).EnumerateArray().Select(r => (r.GetProperty("text").GetString()!, r));

    static string[] Strings(JsonElement list) => [.. list.EnumerateArray().Select(s => s.GetString()!)];

    [Fact]
    public void Punkt_splits_sentences_as_nltk_does()
    {
        foreach (var (text, row) in Rows("sentences"))
        {
            Assert.Equal(Strings(row.GetProperty("sentences")), PunktSentenceTokenizer.English.Tokenize(text));
            Assert.Equal(row.GetProperty("sentences").GetArrayLength(), PunktSentenceTokenizer.English.Count(text));
        }
    }

    [Fact]
    public void Word_tokenize_splits_words_as_nltk_does()
    {
        foreach (var (text, row) in Rows("words")) Assert.Equal(Strings(row.GetProperty("words")), TreebankWordTokenizer.Tokenize(text));
    }

    [Fact]
    public void Langdetect_gives_the_references_probabilities()
    {
        foreach (var (text, row) in Rows("languages"))
        {
            var expected = row.GetProperty("probabilities").EnumerateArray().Select(p => (p[0].GetString()!, p[1].GetDouble())).ToList();
            var actual = LanguageDetector.Default.Probabilities(text) ?? [];
            Assert.Equal(expected.Select(e => e.Item1), actual.Select(a => a.Language));
            foreach (var ((_, want), (_, got)) in expected.Zip(actual)) Assert.Equal(want, got, 12);
        }
    }

    [Fact]
    public void Langdetect_finds_no_features_in_digits_and_punctuation()
    {
        Assert.Null(LanguageDetector.Default.Detect("12345 !!! ..."));
        Assert.Equal(55, LanguageDetector.Default.Languages.Count);
    }

    [Fact]
    public void Python_random_draws_cpythons_numbers()
    {
        // CPython 3.11: r = random.Random(0); r.random(), r.random(); then after r.seed(0): r.choice(range(10)); after r.seed(0): r.gauss(0, 1).
        var random = new PythonRandom(0);
        Assert.Equal(0.8444218515250481, random.NextDouble(), 15);
        Assert.Equal(0.7579544029403025, random.NextDouble(), 15);
        random.Seed(0);
        Assert.Equal(6, random.Below(10));
        random.Seed(0);
        Assert.Equal(0.9417154046806644, random.Gauss(0, 1), 15);
    }
}
