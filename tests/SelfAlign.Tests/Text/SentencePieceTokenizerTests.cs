using System.Text.Json;
using System.Text.Json.Nodes;
using SelfAlign.Judging;
using SelfAlign.Text;
using Xunit;

namespace SelfAlign.Tests.Text;

/// <summary>
/// The SentencePiece-style tokenizer (byte fallback, metaspace) against the real Hugging Face tokenizers
/// library: fixtures from tests/fixtures/text/make_sentencepiece_fixtures.cjs, one per variant of the
/// shipped Mistral tokenizer.json as other families write it.
/// </summary>
public sealed class SentencePieceTokenizerTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("selfalign-sentencepiece-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static readonly JsonElement Fixture =
        JsonDocument.Parse(File.ReadAllText(Path.Combine(TestModels.Fixtures, "text", "sentencepiece.tokens.json"))).RootElement;

    static string Shipped => Path.Combine(TestModels.Configs, "mistral-7b-v0.1");

    public static TheoryData<string> Variants => [.. Fixture.GetProperty("variants").EnumerateObject().Select(v => v.Name)];

    static int[] Ids(JsonElement e) => [.. e.EnumerateArray().Select(x => x.GetInt32())];

    /// <summary>The shipped tokenizer with the variant's patch applied (model fields under "model"), in a folder of its own.</summary>
    Tokenizer Load(string variant, out JsonElement expected)
    {
        expected = Fixture.GetProperty("variants").GetProperty(variant);
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(Shipped, TokenizerFolder.TokenizerFile)))!.AsObject();
        foreach (var field in expected.GetProperty("patch").EnumerateObject())
        {
            if (field.Name != "model") { json[field.Name] = JsonNode.Parse(field.Value.GetRawText()); continue; }
            foreach (var m in field.Value.EnumerateObject()) json["model"]![m.Name] = JsonNode.Parse(m.Value.GetRawText());
        }
        string folder = Path.Combine(_dir, variant);
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, TokenizerFolder.TokenizerFile), json.ToJsonString());
        File.Copy(Path.Combine(Shipped, TokenizerFolder.ConfigFile), Path.Combine(folder, TokenizerFolder.ConfigFile));
        return Tokenizer.Load(folder);
    }

    [Theory, MemberData(nameof(Variants))]
    public void Ids_and_decoding_match_the_reference_library(string variant)
    {
        var tokenizer = Load(variant, out var expected);
        foreach (var row in expected.GetProperty("rows").EnumerateArray())
        {
            string text = row.GetProperty("text").GetString()!, shown = JsonSerializer.Serialize(text);
            Assert.True(Ids(row.GetProperty("ids")).SequenceEqual(tokenizer.Encode(text)), $"{variant}: ids differ for {shown}: {string.Join(",", tokenizer.Encode(text))}");
            Assert.True(Ids(row.GetProperty("ids_with_special")).SequenceEqual(tokenizer.Encode(text, addSpecialTokens: true)), $"{variant}: ids with bos differ for {shown}");
            var ids = Ids(row.GetProperty("ids"));
            Assert.Equal(row.GetProperty("decoded").GetString(), tokenizer.Decode(ids));
            Assert.Equal(row.GetProperty("decoded_skip_special").GetString(), tokenizer.Decode(ids, skipSpecialTokens: true));
        }
        foreach (var label in expected.GetProperty("labels").EnumerateObject())
        {
            Assert.Equal(Ids(label.Value), tokenizer.Encode(label.Name));
            // The IPO authors' labels are every token of " Yes" as the library encodes it (legacy files: ▁ and ▁Yes).
            if (label.Name is " Yes" or " No")
                Assert.Equal(Ids(label.Value), LabelTokens.Resolve(tokenizer, label.Name[1..], LabelVariants.Encoded).Ids);
        }
    }

    [Fact]
    public void Text_outside_the_vocabulary_falls_back_to_bytes_and_round_trips()
    {
        var tokenizer = Load("legacy", out _);
        // U+20000 is no vocabulary entry: its four UTF-8 bytes are four byte tokens.
        var ids = tokenizer.Encode("\U00020000");
        Assert.Equal(["▁", "<0xF0>", "<0xA0>", "<0x80>", "<0x80>"], ids.Select(id => tokenizer.IdToToken(id)));
        foreach (string text in new[] { "\U00020000 and 😀", "tabs\tand\nnewlines\r\n", "  two leading", "日本語" })
            Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text)));
        Assert.Equal([1, 22557], tokenizer.Encode("Hello", addSpecialTokens: true));
    }

    [Fact]
    public void Judge_labels_are_the_vocabularys_own_pieces_with_and_without_the_metaspace()
    {
        var tokenizer = Load("legacy", out _);
        var pieces = Fixture.GetProperty("pieces");
        foreach (string word in new[] { "Yes", "No", "A", "B" })
        {
            // The encoder puts ▁ before every text, so "Yes" alone encodes as ▁Yes; the label still counts the bare piece.
            var label = LabelTokens.Resolve(tokenizer, word, LabelVariants.Space);
            Assert.Equal([pieces.GetProperty(word).GetInt32(), pieces.GetProperty("\u2581" + word).GetInt32()], label.Ids);
            Assert.Equal([word, " " + word], label.Spellings);
        }
    }
}
