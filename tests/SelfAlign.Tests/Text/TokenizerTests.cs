using System.Text;
using System.Text.Json;
using SelfAlign.Modeling;
using SelfAlign.Text;
using Xunit;

namespace SelfAlign.Tests.Text;

/// <summary>Token ids against an independent implementation (fixtures from tests/fixtures/text/make_tokenizer_fixtures.mjs).</summary>
public class TokenizerTests
{
    public static TheoryData<string> Names => new() { "smollm2", "qwen3", "llama3" };

    static JsonElement Fixture(string name) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(TestModels.Fixtures, "text", $"{name}.tokens.json"))).RootElement;

    static int[] Ids(JsonElement e) => e.EnumerateArray().Select(x => x.GetInt32()).ToArray();

    [Theory, MemberData(nameof(Names))]
    public void Encode_matches_reference_ids(string name)
    {
        var tokenizer = TestModels.Tokenizer(name);
        foreach (var row in Fixture(name).GetProperty("rows").EnumerateArray())
        {
            string text = row.GetProperty("text").GetString()!;
            Assert.True(Ids(row.GetProperty("ids")).SequenceEqual(tokenizer.Encode(text)), $"{name}: ids differ for {JsonSerializer.Serialize(text)}");
            Assert.True(Ids(row.GetProperty("ids_with_special")).SequenceEqual(tokenizer.Encode(text, addSpecialTokens: true)), $"{name}: ids with special tokens differ for {JsonSerializer.Serialize(text)}");
        }
    }

    [Theory, MemberData(nameof(Names))]
    public void Decode_matches_reference_and_round_trips(string name)
    {
        var tokenizer = TestModels.Tokenizer(name);
        foreach (var row in Fixture(name).GetProperty("rows").EnumerateArray())
        {
            string text = row.GetProperty("text").GetString()!;
            var ids = Ids(row.GetProperty("ids"));
            Assert.Equal(row.GetProperty("decoded").GetString(), tokenizer.Decode(ids));
            Assert.Equal(row.GetProperty("decoded_skip_special").GetString(), tokenizer.Decode(ids, skipSpecialTokens: true));
            // Decoding inverts encoding up to the tokenizer's own normalizer (Qwen's NFC).
            string expected = name == "qwen3" ? text.Normalize(NormalizationForm.FormC) : text;
            Assert.Equal(expected, tokenizer.Decode(tokenizer.Encode(text)));
        }
    }

    [Theory, MemberData(nameof(Names))]
    public void Label_token_ids_match_reference(string name)
    {
        var tokenizer = TestModels.Tokenizer(name);
        foreach (var label in Fixture(name).GetProperty("labels").EnumerateObject())
        {
            var expected = Ids(label.Value);
            Assert.Equal(expected, tokenizer.Encode(label.Name));
            Assert.Equal(expected.Length == 1 ? expected[0] : null, tokenizer.SingleTokenId(label.Name));
        }
    }

    [Fact]
    public void Special_tokens_are_recognised_only_when_allowed()
    {
        var tokenizer = TestModels.Tokenizer("qwen3");
        const string text = "<|im_start|>user";
        Assert.Equal(151644, tokenizer.Encode(text)[0]);
        var asText = tokenizer.Encode(text, allowSpecialTokens: false);
        Assert.DoesNotContain(151644, asText);
        Assert.Equal(text, tokenizer.Decode(asText));
        // Non-special added tokens (Qwen3's <think>) are always single tokens.
        Assert.Equal([151667], tokenizer.Encode("<think>", allowSpecialTokens: false));
    }

    [Fact]
    public void Special_token_names_come_from_the_configs()
    {
        var qwen = TestModels.Tokenizer("qwen3").Special;
        Assert.Equal(("<|im_end|>", 151645), (qwen.Eos, qwen.EosId));
        Assert.Equal(("<|endoftext|>", 151643), (qwen.Pad, qwen.PadId));
        Assert.Null(qwen.BosId);
        var llama = TestModels.Tokenizer("llama3").Special;
        Assert.Equal(("<|begin_of_text|>", 128000), (llama.Bos, llama.BosId));
        // SmolLM2 ships no tokenizer_config.json: the ids come from config.json.
        var smol = TestModels.Tokenizer("smollm2").Special;
        Assert.Equal(("<|im_start|>", 1), (smol.Bos, smol.BosId));
        Assert.Equal(("<|im_end|>", 2), (smol.Eos, smol.EosId));
        Assert.NotNull(TestModels.Tokenizer("qwen3").ChatTemplate);
        Assert.Null(TestModels.Tokenizer("smollm2").ChatTemplate);
    }

    [Fact]
    public void Missing_or_broken_files_name_the_file()
    {
        string dir = Directory.CreateTempSubdirectory().FullName;
        try
        {
            var missing = Assert.Throws<ModelFormatException>(() => Tokenizer.Load(dir));
            Assert.Contains("tokenizer.json", missing.Message);
            File.WriteAllText(Path.Combine(dir, "tokenizer.json"), "{\"model\": {\"type\": \"Unigram\"}}");
            var unsupported = Assert.Throws<ModelFormatException>(() => Tokenizer.Load(dir));
            Assert.Contains("Unigram", unsupported.Message);
            File.WriteAllText(Path.Combine(dir, "tokenizer.json"), "{\"model\": ");
            Assert.Contains("invalid JSON", Assert.Throws<ModelFormatException>(() => Tokenizer.Load(dir)).Message);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
