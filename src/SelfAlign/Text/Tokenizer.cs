using System.Text;

namespace SelfAlign.Text;

/// <summary>
/// A Hugging Face BPE tokenizer read from <c>tokenizer.json</c> and <c>tokenizer_config.json</c>:
/// byte-level (GPT-2, Llama 3, Qwen2/3, SmolLM2 style, merged by Microsoft.ML.Tokenizers' BPE) or
/// SentencePiece-style (Llama 2, Mistral, Gemma, Phi-3: <c>▁</c> for spaces, byte fallback). Added
/// tokens are matched first, then each plain segment is normalized, pre-tokenized and merged; the
/// ids equal those of Hugging Face <c>tokenizers</c>. Thread-safe once built.
/// </summary>
public sealed class Tokenizer
{
    readonly Action<string, List<int>> _encodePiece;
    readonly Func<List<string>, List<string>>? _decoder;
    readonly IReadOnlyDictionary<string, int> _vocab;
    readonly string?[] _idToToken;
    readonly Dictionary<int, AddedToken> _addedById;
    readonly AddedTokenMatcher _matcher;
    readonly Func<string, string>? _normalize;
    readonly Func<string, bool, IEnumerable<string>> _preTokenize;
    readonly int[] _prefix, _suffix;

    // encodePiece appends the ids of one pre-tokenized piece; decoder maps token strings to text pieces, null for a
    // byte-level vocabulary (its tokens decode as bytes), set for a SentencePiece-style one.
    internal Tokenizer(Action<string, List<int>> encodePiece, Func<List<string>, List<string>>? decoder, IReadOnlyDictionary<string, int> vocab,
        IReadOnlyList<AddedToken> added, Func<string, string>? normalize, Func<string, bool, IEnumerable<string>> preTokenize,
        int[] prefix, int[] suffix, SpecialTokens special, string? chatTemplate)
    {
        _encodePiece = encodePiece;
        _decoder = decoder;
        _vocab = vocab;
        AddedTokens = added;
        _addedById = added.ToDictionary(t => t.Id);
        _matcher = new AddedTokenMatcher(added);
        _normalize = normalize;
        _preTokenize = preTokenize;
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
        var parts = _matcher.Split(text, allowSpecialTokens);
        for (int i = 0; i < parts.Count; i++)
        {
            var (segment, token) = parts[i];
            if (token is not null) { ids.Add(token.Id); continue; }
            string normalized = _normalize?.Invoke(segment) ?? segment;
            foreach (string piece in _preTokenize(normalized, i == 0))
                if (piece.Length > 0) _encodePiece(piece, ids);
        }
        if (addSpecialTokens) ids.AddRange(_suffix);
        return ids;
    }

    /// <summary>Decodes ids to text; with <paramref name="skipSpecialTokens"/> the special added tokens are left out.</summary>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false)
    {
        if (_decoder is not null)
        {
            // As Hugging Face decodes: every kept token's string, added tokens included, through the decoder chain.
            var tokens = ids.Where(id => !(skipSpecialTokens && IsSpecial(id)))
                .Select(id => IdToToken(id) ?? throw new ArgumentOutOfRangeException(nameof(ids), $"token id {id} is not in the vocabulary")).ToList();
            return string.Concat(_decoder(tokens));
        }
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

    /// <summary>
    /// The id of the vocabulary token that reads as exactly <paramref name="text"/> where it continues a text:
    /// "Yes" and " Yes" are <c>Yes</c> and <c>▁Yes</c> in a SentencePiece vocabulary, <c>Yes</c> and <c>ĠYes</c>
    /// in a byte-level one (a SentencePiece encoder puts <c>▁</c> before a text, so encoding cannot reach the
    /// first); else the id of <paramref name="text"/> when it encodes to one token; else null.
    /// </summary>
    public int? PieceId(string text) =>
        _vocab.TryGetValue(_decoder is null ? ByteLevel.Encode(text) : text.Replace(" ", Metaspace.Symbol), out int id) ? id : SingleTokenId(text);

    /// <summary>True for the special added tokens (bos, eos, chat markers).</summary>
    public bool IsSpecial(int id) => _addedById.TryGetValue(id, out var t) && t.Special;
}

/// <summary>The named special tokens of a tokenizer: text and id, each null when the tokenizer has none.</summary>
public sealed record SpecialTokens(string? Bos, int? BosId, string? Eos, int? EosId, string? Pad, int? PadId, string? Unk, int? UnkId);
