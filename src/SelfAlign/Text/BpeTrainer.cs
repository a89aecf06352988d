using System.Text.Json;
using System.Text.Json.Nodes;

namespace SelfAlign.Text;

/// <summary>
/// Trains a byte-level BPE tokenizer (the GPT-2 / SmolLM2 kind) on a corpus and writes it as a
/// Hugging Face <c>tokenizer.json</c>: special tokens first, then the 256 byte symbols (so any text
/// encodes), then one token per merge. Pre-tokenization splits digits one by one and then applies
/// the GPT-2 pattern, as SmolLM2's does. Merges are learned greedily: the most frequent adjacent
/// pair within pre-tokens, ties to the ordinally smallest pair, so training is deterministic.
/// </summary>
public static class BpeTrainer
{
    static readonly JsonObject PreTokenizerSpec = new()
    {
        ["type"] = "Sequence",
        ["pretokenizers"] = new JsonArray(
            new JsonObject { ["type"] = "Digits", ["individual_digits"] = true },
            new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = true }),
    };

    /// <summary>The tokenizer.json of a tokenizer trained on <paramref name="corpus"/>.</summary>
    /// <param name="corpus">Training text.</param>
    /// <param name="vocabSize">Total tokens, special tokens and bytes included (training stops earlier when no pair repeats).</param>
    /// <param name="specialTokens">Added special tokens, given ids 0, 1, ...</param>
    /// <param name="required">Texts that must each be one token (label words such as " Yes"); their merges come first.</param>
    public static JsonObject Train(IEnumerable<string> corpus, int vocabSize, IReadOnlyList<string> specialTokens, IReadOnlyList<string> required)
    {
        var split = PreTokenizer.Parse(JsonSerializer.SerializeToElement(PreTokenizerSpec), "tokenizer.json");
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var text in corpus)
            foreach (var piece in split(text, true))
            {
                string symbols = ByteLevel.Encode(piece);
                counts[symbols] = counts.GetValueOrDefault(symbols) + 1;
            }
        var words = counts.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => (Symbols: kv.Key.Select(c => c.ToString()).ToList(), Count: kv.Value)).ToList();

        var vocab = new List<string>(specialTokens);
        vocab.AddRange(Enumerable.Range(0, 256).Select(b => ByteLevel.Symbol((byte)b).ToString()));
        var known = vocab.ToHashSet(StringComparer.Ordinal);
        var merges = new List<(string Left, string Right)>();
        void Merge(string left, string right)
        {
            merges.Add((left, right));
            if (known.Add(left + right)) vocab.Add(left + right);
            foreach (var (symbols, _) in words) Apply(symbols, left, right);
        }

        foreach (var text in required)
        {
            var symbols = ByteLevel.Encode(text).Select(c => c.ToString()).ToList();
            while (symbols.Count > 1)
            {
                var (left, right) = (symbols[0], symbols[1]);
                if (!merges.Contains((left, right))) Merge(left, right);
                Apply(symbols, left, right);
            }
        }
        while (vocab.Count < vocabSize)
        {
            var pairs = new Dictionary<(string, string), long>();
            foreach (var (symbols, count) in words)
                for (int i = 0; i + 1 < symbols.Count; i++)
                    pairs[(symbols[i], symbols[i + 1])] = pairs.GetValueOrDefault((symbols[i], symbols[i + 1])) + count;
            var best = pairs.Where(p => p.Value > 1 && !known.Contains(p.Key.Item1 + p.Key.Item2))
                .OrderByDescending(p => p.Value).ThenBy(p => p.Key.Item1, StringComparer.Ordinal).ThenBy(p => p.Key.Item2, StringComparer.Ordinal)
                .Select(p => p.Key).Cast<(string, string)?>().FirstOrDefault();
            if (best is not var (left, right)) break;
            Merge(left, right);
        }

        var added = new JsonArray(specialTokens.Select((t, i) => (JsonNode?)new JsonObject
        {
            ["id"] = i, ["content"] = t, ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false, ["normalized"] = false, ["special"] = true,
        }).ToArray());
        var vocabJson = new JsonObject();
        for (int i = 0; i < vocab.Count; i++) vocabJson[vocab[i]] = i;
        return new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = added,
            ["normalizer"] = null,
            ["pre_tokenizer"] = PreTokenizerSpec.DeepClone(),
            ["post_processor"] = null,
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = true, ["use_regex"] = true },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = null, ["continuing_subword_prefix"] = null, ["end_of_word_suffix"] = null,
                ["fuse_unk"] = false, ["byte_fallback"] = false, ["ignore_merges"] = false,
                ["vocab"] = vocabJson,
                ["merges"] = new JsonArray(merges.Select(m => (JsonNode?)$"{m.Left} {m.Right}").ToArray()),
            },
        };
    }

    /// <summary>Replaces every adjacent (left, right) in <paramref name="symbols"/> by their concatenation.</summary>
    static void Apply(List<string> symbols, string left, string right)
    {
        for (int i = 0; i + 1 < symbols.Count; i++)
            if (symbols[i] == left && symbols[i + 1] == right)
            {
                symbols[i] = left + right;
                symbols.RemoveAt(i + 1);
            }
    }
}
