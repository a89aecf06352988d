using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.ML.Tokenizers;
using SelfAlign.Modeling;

namespace SelfAlign.Text;

/// <summary>
/// Reads a tokenizer from a model folder: <c>tokenizer.json</c> (required), <c>tokenizer_config.json</c>
/// (special tokens, <c>add_bos_token</c>, chat template), <c>chat_template.jinja</c> (overrides the
/// config's template) and <c>config.json</c> (bos/eos ids when the tokenizer config has none).
/// </summary>
public static class TokenizerFolder
{
    /// <summary>The tokenizer definition file.</summary>
    public const string TokenizerFile = "tokenizer.json";
    /// <summary>The tokenizer config file.</summary>
    public const string ConfigFile = "tokenizer_config.json";
    /// <summary>A stand-alone chat template file.</summary>
    public const string TemplateFile = "chat_template.jinja";

    /// <summary>Loads the tokenizer of <paramref name="folder"/>.</summary>
    public static Tokenizer Load(string folder)
    {
        string file = Path.Combine(folder, TokenizerFile);
        if (!File.Exists(file)) throw new ModelFormatException(folder, $"no {TokenizerFile} (SelfAlign reads Hugging Face fast tokenizers)");
        try
        {
            return Build(folder, file);
        }
        catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or IndexOutOfRangeException or FormatException)
        {
            // A field of the wrong shape somewhere the checks above do not look.
            throw new ModelFormatException(file, $"not a tokenizer.json SelfAlign can read: {e.Message}");
        }
    }

    static Tokenizer Build(string folder, string file)
    {
        var config = ReadObject(Path.Combine(folder, ConfigFile));
        var modelConfig = ReadObject(Path.Combine(folder, ModelFolder.ConfigFile));

        using var doc = Parse(file);
        var root = doc.RootElement;
        var model = root.GetProperty("model");
        string type = TokenizerJson.Type(model, file, "model");
        if (type != "BPE") throw TokenizerJson.Unsupported(file, "model", type);
        foreach (string affix in new[] { "continuing_subword_prefix", "end_of_word_suffix" })
            if (Property(model, affix) is { ValueKind: JsonValueKind.String } a && a.GetString() is { Length: > 0 })
                throw new ModelFormatException(file, $"model: {affix} is not supported");
        var decoderSpec = Property(root, "decoder");
        // Byte-level symbols show in the decoder or the pre-tokenizer; anything else is read as SentencePiece-style.
        var preTokenizerSpec = Property(root, "pre_tokenizer");
        bool byteLevel = HasType(decoderSpec, "ByteLevel", "decoders") || HasType(preTokenizerSpec, "ByteLevel", "pretokenizers");

        var vocab = ReadVocab(model, file);
        var merges = ReadMerges(model, file);
        bool ignoreMerges = TokenizerJson.Bool(model, "ignore_merges", false);
        Action<string, List<int>> encodePiece;
        Func<List<string>, List<string>>? decoder = null;
        if (byteLevel)
        {
            if (TokenizerJson.Bool(model, "byte_fallback", false)) throw new ModelFormatException(file, "model: byte_fallback with a ByteLevel decoder is not supported");
            var bpe = BpeTokenizer.Create(new BpeOptions(vocab) { Merges = merges, ByteLevel = true });
            encodePiece = (piece, ids) =>
            {
                // Llama 3 style: a piece that is itself a vocabulary entry is one token, whatever the merges say.
                if (ignoreMerges && vocab.TryGetValue(ByteLevel.Encode(piece), out int whole)) ids.Add(whole);
                else ids.AddRange(bpe.EncodeToIds(piece, considerPreTokenization: false, considerNormalization: false));
            };
        }
        else
        {
            string? unk = Property(model, "unk_token").ValueKind == JsonValueKind.String ? model.GetProperty("unk_token").GetString() : null;
            SentencePieceBpe sentencePiece;
            try
            {
                sentencePiece = new SentencePieceBpe(vocab, merges, unk, TokenizerJson.Bool(model, "byte_fallback", false), TokenizerJson.Bool(model, "fuse_unk", false), ignoreMerges);
            }
            catch (ArgumentException e)
            {
                throw new ModelFormatException(file, $"model.{e.Message}");
            }
            encodePiece = sentencePiece.Encode;
            decoder = decoderSpec.ValueKind == JsonValueKind.Object ? TokenDecoder.Parse(decoderSpec, file) : tokens => tokens;
        }
        var added = ReadAddedTokens(root, file);
        var special = ReadSpecialTokens(config, modelConfig, vocab, added);
        var (prefix, suffix) = PostProcessor(root, file, config, special);

        return new Tokenizer(encodePiece, decoder, vocab, added,
            Normalizer.Parse(Property(root, "normalizer"), file),
            PreTokenizer.Parse(preTokenizerSpec, file),
            prefix, suffix, special, ReadTemplate(folder, config));
    }

    /// <summary>Whether a component, or one in its <paramref name="sequence"/> list, has <paramref name="type"/>.</summary>
    static bool HasType(JsonElement spec, string type, string sequence) =>
        spec.ValueKind == JsonValueKind.Object && spec.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String
        && (t.GetString() == type || spec.TryGetProperty(sequence, out var steps) && steps.ValueKind == JsonValueKind.Array
            && steps.EnumerateArray().Any(s => HasType(s, type, sequence)));

    static JsonDocument Parse(string file)
    {
        try
        {
            using var stream = File.OpenRead(file);
            return JsonDocument.Parse(stream);
        }
        catch (JsonException e)
        {
            throw new ModelFormatException(file, JsonMessages.WithPosition(e));
        }
    }

    static JsonObject? ReadObject(string file)
    {
        if (!File.Exists(file)) return null;
        try
        {
            return JsonNode.Parse(File.ReadAllText(file)) as JsonObject ?? throw new ModelFormatException(file, "expected a JSON object");
        }
        catch (JsonException e)
        {
            throw new ModelFormatException(file, JsonMessages.WithPosition(e));
        }
    }

    static JsonElement Property(JsonElement o, string name) => o.TryGetProperty(name, out var v) ? v : default;

    static Dictionary<string, int> ReadVocab(JsonElement model, string file)
    {
        if (!model.TryGetProperty("vocab", out var v) || v.ValueKind != JsonValueKind.Object)
            throw new ModelFormatException(file, "model: missing 'vocab'");
        var vocab = new Dictionary<string, int>();
        foreach (var entry in v.EnumerateObject())
            vocab[entry.Name] = entry.Value.TryGetInt32(out int id) ? id : throw new ModelFormatException(file, $"model.vocab['{entry.Name}']: expected an integer id");
        return vocab;
    }

    // Merges come as "a b" strings or, in newer files, as ["a", "b"] pairs.
    static List<string> ReadMerges(JsonElement model, string file)
    {
        if (!model.TryGetProperty("merges", out var m) || m.ValueKind != JsonValueKind.Array)
            throw new ModelFormatException(file, "model: missing 'merges'");
        var merges = new List<string>(m.GetArrayLength());
        int index = 0;
        foreach (var merge in m.EnumerateArray())
        {
            if (merge.ValueKind == JsonValueKind.String) merges.Add(merge.GetString()!);
            else if (merge.ValueKind == JsonValueKind.Array && merge.GetArrayLength() == 2
                     && merge[0].GetString() is string a && merge[1].GetString() is string b && !a.Contains(' ') && !b.Contains(' '))
                merges.Add(a + " " + b);
            else throw new ModelFormatException(file, $"model.merges[{index}]: expected \"a b\" or [\"a\", \"b\"] without spaces inside");
            index++;
        }
        return merges;
    }

    static List<AddedToken> ReadAddedTokens(JsonElement root, string file)
    {
        var tokens = new List<AddedToken>();
        if (!root.TryGetProperty("added_tokens", out var list) || list.ValueKind != JsonValueKind.Array) return tokens;
        int index = 0;
        foreach (var t in list.EnumerateArray())
        {
            string where = $"added_tokens[{index++}]";
            if (!t.TryGetProperty("id", out var id) || !id.TryGetInt32(out int tokenId))
                throw new ModelFormatException(file, $"{where}: missing integer 'id'");
            tokens.Add(new AddedToken(tokenId, TokenizerJson.String(t, "content", file, where),
                TokenizerJson.Bool(t, "special", false), TokenizerJson.Bool(t, "lstrip", false),
                TokenizerJson.Bool(t, "rstrip", false), TokenizerJson.Bool(t, "single_word", false)));
        }
        return tokens;
    }

    static SpecialTokens ReadSpecialTokens(JsonObject? config, JsonObject? modelConfig, Dictionary<string, int> vocab, List<AddedToken> added)
    {
        int? IdOf(string? token) => token is null ? null
            : added.FirstOrDefault(t => t.Content == token)?.Id ?? (vocab.TryGetValue(token, out int id) ? id : null);
        string? TokenOf(int? id) => id is null ? null
            : added.FirstOrDefault(t => t.Id == id)?.Content ?? vocab.FirstOrDefault(kv => kv.Value == id).Key;

        (string?, int?) Named(string name, string idField)
        {
            // A tokenizer config that names the field decides, even as null (Qwen3 has no bos).
            if (config is not null && config.ContainsKey(name))
            {
                string? named = config[name] switch
                {
                    JsonValue v when v.TryGetValue<string>(out var s) => s,
                    JsonObject o => o["content"]?.GetValue<string>(),
                    _ => null,
                };
                return (named, IdOf(named));
            }
            int? id = modelConfig?[idField] switch
            {
                JsonValue v when v.TryGetValue<int>(out int i) => i,
                JsonArray a when a.Count > 0 && a[0] is JsonValue v && v.TryGetValue<int>(out int i) => i,
                _ => null,
            };
            return (TokenOf(id), id);
        }

        var (bos, bosId) = Named("bos_token", "bos_token_id");
        var (eos, eosId) = Named("eos_token", "eos_token_id");
        var (pad, padId) = Named("pad_token", "pad_token_id");
        var (unk, unkId) = Named("unk_token", "unk_token_id");
        return new SpecialTokens(bos, bosId, eos, eosId, pad, padId, unk, unkId);
    }

    /// <summary>The ids added before and after a sequence when special tokens are requested.</summary>
    static (int[] Prefix, int[] Suffix) PostProcessor(JsonElement root, string file, JsonObject? config, SpecialTokens special)
    {
        var prefix = new List<int>();
        var suffix = new List<int>();
        bool fromTemplate = Collect(Property(root, "post_processor"), file, prefix, suffix);
        if (!fromTemplate)
        {
            // Without a template the tokenizer config's add_bos_token / add_eos_token decide.
            if (config?["add_bos_token"]?.GetValue<bool>() == true && special.BosId is int bos) prefix.Add(bos);
            if (config?["add_eos_token"]?.GetValue<bool>() == true && special.EosId is int eos) suffix.Add(eos);
        }
        return (prefix.ToArray(), suffix.ToArray());
    }

    static bool Collect(JsonElement spec, string file, List<int> prefix, List<int> suffix)
    {
        if (spec.ValueKind != JsonValueKind.Object) return false;
        string type = TokenizerJson.Type(spec, file, "post_processor");
        switch (type)
        {
            case "ByteLevel":
                return false;
            case "Sequence":
                bool any = false;
                foreach (var p in spec.GetProperty("processors").EnumerateArray()) any |= Collect(p, file, prefix, suffix);
                return any;
            case "TemplateProcessing":
                var specials = spec.GetProperty("special_tokens");
                bool afterSequence = false;
                foreach (var item in spec.GetProperty("single").EnumerateArray())
                {
                    if (item.TryGetProperty("Sequence", out _)) { afterSequence = true; continue; }
                    string name = item.GetProperty("SpecialToken").GetProperty("id").GetString()!;
                    if (!specials.TryGetProperty(name, out var entry))
                        throw new ModelFormatException(file, $"post_processor: special token '{name}' is not in special_tokens");
                    foreach (var id in entry.GetProperty("ids").EnumerateArray()) (afterSequence ? suffix : prefix).Add(id.GetInt32());
                }
                return true;
            case "RobertaProcessing" or "BertProcessing":
                prefix.Add(spec.GetProperty("cls")[1].GetInt32());
                suffix.Add(spec.GetProperty("sep")[1].GetInt32());
                return true;
            default:
                throw TokenizerJson.Unsupported(file, "post_processor", type);
        }
    }

    static string? ReadTemplate(string folder, JsonObject? config)
    {
        string file = Path.Combine(folder, TemplateFile);
        if (File.Exists(file)) return File.ReadAllText(file);
        return config?["chat_template"] switch
        {
            JsonValue v when v.TryGetValue<string>(out var s) => s,
            // A list of named templates: the one named "default" is the chat template.
            JsonArray named => named.OfType<JsonObject>().FirstOrDefault(t => t["name"]?.GetValue<string>() == "default")?["template"]?.GetValue<string>(),
            _ => null,
        };
    }
}
