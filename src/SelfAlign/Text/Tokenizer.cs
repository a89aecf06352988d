using System.Text;
using Microsoft.ML.Tokenizers;

namespace SelfAlign.Text;

/// <summary>
/// A Hugging Face byte-level BPE tokenizer (GPT-2, Llama 3, Qwen2/3, SmolLM2 style) read from
/// <c>tokenizer.json</c> and <c>tokenizer_config.json</c>. Added tokens are matched first, then each
/// plain segment is normalized, pre-tokenized and merged by Microsoft.ML.Tokenizers' BPE; the ids
/// equal those of Hugging Face <c>tokenizers</c>. Thread-safe once built.
/// </summary>
public sealed class Tokenizer
{
    readonly BpeTokenizer _bpe;
    readonly IReadOnlyDictionary<string, int> _vocab;
    readonly string?[] _idToToken;
    readonly Dictionary<int, AddedToken> _addedById;
    readonly AddedTokenMatcher _matcher;
    readonly Func<string, string>? _normalize;
    readonly Func<string, IEnumerable<string>> _preTokenize;
    readonly bool _ignoreMerges;
    readonly int[] _prefix, _suffix;

    internal Tokenizer(BpeTokenizer bpe, IReadOnlyDictionary<string, int> vocab, IReadOnlyList<AddedToken> added,
        Func<string, string>? normalize, Func<string, IEnumerable<string>> preTokenize, bool ignoreMerges,
        int[] prefix, int[] suffix, SpecialTokens special, string? chatTemplate)
    {
        _bpe = bpe;
        _vocab = vocab;
        AddedTokens = added;
        _addedById = added.ToDictionary(t => t.Id);
        _matcher = new AddedTokenMatcher(added);
        _normalize = normalize;
        _preTokenize = preTokenize;
        _ignoreMerges = ignoreMerges;
        _prefix = prefix;
        _suffix = suffix;
        Special = special;
        ChatTemplate = chatTemplate;
        int size = Math.Max(vocab.Count == 0 ? 0 : vocab.Values.Max() + 1, added.Count == 0 ? 0 : added.Max(t => t.Id) + 1);
        _idToToken = new string?[size];
        foreach (var (token, id) in vocab) _idToToken[id] = token;
        foreach (var t in added) _idToToken[t.Id] = t.Content;
    }

    /// <summary>Reads the tokenizer files of a model folder (see <see cref="TokenizerFolder"/>).</summary>
    public static Tokenizer Load(string folder) => TokenizerFolder.Load(folder);

    /// <summary>One more than the largest token id (BPE vocabulary and added tokens).</summary>
    public int VocabSize => _idToToken.Length;
    /// <summary>The added tokens, special or not.</summary>
    public IReadOnlyList<AddedToken> AddedTokens { get; }
    /// <summary>bos / eos / pad / unk tokens as the tokenizer config names them.</summary>
    public SpecialTokens Special { get; }
    /// <summary>The Jinja chat template, or null when the model ships none.</summary>
    public string? ChatTemplate { get; }

    /// <summary>
    /// Encodes <paramref name="text"/> to token ids.
    /// </summary>
    /// <param name="text">The text.</param>
    /// <param name="addSpecialTokens">Add what the post-processor (or <c>add_bos_token</c>) puts around a sequence, e.g. bos.</param>
    /// <param name="allowSpecialTokens">Recognise special tokens written in the text; when false they are encoded as plain text.</param>
    public List<int> Encode(string text, bool addSpecialTokens = false, bool allowSpecialTokens = true)
    {
        var ids = new List<int>(text.Length / 3 + 4);
        if (addSpecialTokens) ids.AddRange(_prefix);
        foreach (var (segment, token) in _matcher.Split(text, allowSpecialTokens))
        {
            if (token is not null) { ids.Add(token.Id); continue; }
            string normalized = _normalize?.Invoke(segment) ?? segment;
            foreach (string piece in _preTokenize(normalized))
                EncodePiece(piece, ids);
        }
        if (addSpecialTokens) ids.AddRange(_suffix);
        return ids;
    }

    void EncodePiece(string piece, List<int> ids)
    {
        if (piece.Length == 0) return;
        // Llama 3 style: a piece that is itself a vocabulary entry is one token, whatever the merges say.
        if (_ignoreMerges && _vocab.TryGetValue(ByteLevel.Encode(piece), out int whole)) { ids.Add(whole); return; }
        ids.AddRange(_bpe.EncodeToIds(piece, considerPreTokenization: false, considerNormalization: false));
    }

    /// <summary>Decodes ids to text; with <paramref name="skipSpecialTokens"/> the special added tokens are left out.</summary>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false)
    {
        var text = new StringBuilder();
        var bytes = new List<byte>();
        void Flush()
        {
            if (bytes.Count == 0) return;
            text.Append(Encoding.UTF8.GetString(bytes.ToArray()));
            bytes.Clear();
        }
        foreach (int id in ids)
        {
            if (_addedById.TryGetValue(id, out var added))
            {
                Flush();
                if (!(skipSpecialTokens && added.Special)) text.Append(added.Content);
                continue;
            }
            string token = IdToToken(id) ?? throw new ArgumentOutOfRangeException(nameof(ids), $"token id {id} is not in the vocabulary");
            if (!ByteLevel.TryAppendBytes(token, bytes))
                throw new InvalidOperationException($"token {id} '{token}' is not a byte-level token");
        }
        Flush();
        return text.ToString();
    }

    /// <summary>The token string of an id (byte-level form for BPE tokens), or null when unassigned.</summary>
    public string? IdToToken(int id) => id >= 0 && id < _idToToken.Length ? _idToToken[id] : null;

    /// <summary>The id of a token string (byte-level form for BPE tokens, e.g. <c>"ĠYes"</c>), or null.</summary>
    public int? TokenToId(string token) =>
        _vocab.TryGetValue(token, out int id) ? id : AddedTokens.FirstOrDefault(t => t.Content == token)?.Id;

    /// <summary>The id of <paramref name="text"/> when it encodes to exactly one token (e.g. <c>"Yes"</c> vs <c>" Yes"</c>), else null.</summary>
    public int? SingleTokenId(string text)
    {
        var ids = Encode(text, allowSpecialTokens: true);
        return ids.Count == 1 ? ids[0] : null;
    }

    /// <summary>True for the special added tokens (bos, eos, chat markers).</summary>
    public bool IsSpecial(int id) => _addedById.TryGetValue(id, out var t) && t.Special;
}

/// <summary>The named special tokens of a tokenizer: text and id, each null when the tokenizer has none.</summary>
public sealed record SpecialTokens(string? Bos, int? BosId, string? Eos, int? EosId, string? Pad, int? PadId, string? Unk, int? UnkId);
