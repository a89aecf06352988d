using System.Text.Json;
using System.Text.Json.Nodes;
using SelfAlign.Text;
using Xunit;

namespace SelfAlign.Tests.Text;

/// <summary>
/// The BPE trainer: its tokenizer.json is read by the Hugging Face tokenizers library (ids in
/// fixtures/text/demo-bpe/tokens.json come from it, via make_bpe_fixture.cjs) and by ours alike,
/// and training is deterministic and greedy.
/// </summary>
public class BpeTrainerTests
{
    static readonly string[] Specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"];
    static string Folder => Path.Combine(TestModels.Fixtures, "text", "demo-bpe");
    static string[] Corpus => JsonSerializer.Deserialize<string[]>(File.ReadAllText(Path.Combine(TestModels.Fixtures, "text", "corpus.json")))!;

    [Fact]
    public void Training_on_the_fixture_corpus_reproduces_the_fixture_tokenizer()
    {
        var trained = BpeTrainer.Train(Corpus, 400, Specials, ["Yes", "No", " A", " B"]);
        var fixture = JsonNode.Parse(File.ReadAllText(Path.Combine(Folder, "tokenizer.json")))!;
        Assert.True(JsonNode.DeepEquals(fixture, trained), "the trainer no longer writes the fixture's tokenizer; regenerate both fixture files if the change is intended");
    }

    [Fact]
    public void Ids_and_decoding_match_the_hugging_face_library()
    {
        var tokenizer = Tokenizer.Load(Folder);
        var rows = JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder, "tokens.json"))).RootElement.GetProperty("rows").EnumerateArray().ToList();
        Assert.True(rows.Count > 30);
        foreach (var row in rows)
        {
            string text = row.GetProperty("text").GetString()!;
            var expected = row.GetProperty("ids").EnumerateArray().Select(i => i.GetInt32()).ToArray();
            Assert.True(expected.SequenceEqual(tokenizer.Encode(text)), $"ids differ for {JsonSerializer.Serialize(text)}");
            Assert.Equal(row.GetProperty("decoded").GetString(), tokenizer.Decode(expected));
            Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text)));
        }
    }

    [Fact]
    public void Required_words_are_single_tokens_and_specials_come_first()
    {
        var json = BpeTrainer.Train(["a b c", "a b c"], 300, Specials, ["Yes", " Yes", " safety"]);
        var vocab = json["model"]!["vocab"]!.AsObject();
        Assert.Equal(0, (int)vocab["<|endoftext|>"]!);
        Assert.Equal(2, (int)vocab["<|im_end|>"]!);
        foreach (var word in new[] { "Yes", "ĠYes", "Ġsafety" }) Assert.True(vocab.ContainsKey(word), word);
        Assert.Equal(3 + 256, (int)vocab[json["model"]!["merges"]![0]!.GetValue<string>().Replace(" ", "")]!);
    }

    [Fact]
    public void Each_merge_is_the_most_frequent_pair_when_it_is_made()
    {
        string[] corpus = ["low lower lowest", "newer newest wider", "low low new new", "the lowest of the new"];
        var json = BpeTrainer.Train(corpus, 290, Specials, []);
        var merges = json["model"]!["merges"]!.AsArray().Select(m => m!.GetValue<string>().Split(' ')).ToList();
        Assert.NotEmpty(merges);
        // Recount from scratch: pre-tokens as GPT-2 splits these ASCII words, one symbol per byte.
        var words = corpus.SelectMany(t => t.Split(' ').Select((w, i) => i == 0 ? w : "Ġ" + w)).Select(w => w.Select(c => c.ToString()).ToList()).ToList();
        foreach (var merge in merges)
        {
            var counts = words.SelectMany(w => w.Zip(w.Skip(1))).GroupBy(p => p).ToDictionary(g => g.Key, g => g.Count());
            int best = counts.Values.Max();
            Assert.Equal(best, counts.GetValueOrDefault((merge[0], merge[1])));
            foreach (var w in words)
                for (int i = 0; i + 1 < w.Count; i++)
                    if (w[i] == merge[0] && w[i + 1] == merge[1])
                    {
                        w[i] += w[i + 1];
                        w.RemoveAt(i + 1);
                    }
        }
    }
}
