namespace SelfAlign.Text;

/// <summary>
/// The BPE model of SentencePiece-style <c>tokenizer.json</c> files (Llama 2, Mistral, Gemma, Phi-3):
/// symbols are Unicode characters rather than bytes; a character outside the vocabulary becomes its
/// UTF-8 bytes as <c>&lt;0xNN&gt;</c> tokens (<c>byte_fallback</c>) or the unknown token (consecutive
/// ones fused into one with <c>fuse_unk</c>). Merges apply lowest rank first, leftmost first among
/// equals, as Hugging Face <c>tokenizers</c> applies them.
/// </summary>
internal sealed class SentencePieceBpe
{
    readonly IReadOnlyDictionary<string, int> _vocab;
    readonly Dictionary<(int, int), (int Rank, int Merged)> _merges;
    readonly int? _unk;
    readonly bool _byteFallback, _fuseUnk, _ignoreMerges;
    readonly int[]? _bytes;

    /// <summary>A model over <paramref name="vocab"/> and its merges ("a b", in rank order).</summary>
    /// <exception cref="ArgumentException">A merge names a token the vocabulary lacks.</exception>
    public SentencePieceBpe(IReadOnlyDictionary<string, int> vocab, IReadOnlyList<string> merges, string? unkToken, bool byteFallback, bool fuseUnk, bool ignoreMerges)
    {
        _vocab = vocab;
        _merges = new Dictionary<(int, int), (int, int)>(merges.Count);
        for (int rank = 0; rank < merges.Count; rank++)
        {
            int space = merges[rank].IndexOf(' ');
            string a = merges[rank][..space], b = merges[rank][(space + 1)..];
            int Id(string token) => vocab.TryGetValue(token, out int id) ? id : throw new ArgumentException($"merges[{rank}]: '{token}' is not in the vocabulary");
            _merges.TryAdd((Id(a), Id(b)), (rank, Id(a + b)));
        }
        _unk = unkToken is not null && vocab.TryGetValue(unkToken, out int unk) ? unk : null;
        _byteFallback = byteFallback;
        _fuseUnk = fuseUnk;
        _ignoreMerges = ignoreMerges;
        if (byteFallback) _bytes = Enumerable.Range(0, 256).Select(b => vocab.TryGetValue(ByteToken((byte)b), out int id) ? id : -1).ToArray();
    }

    /// <summary>The token that stands for one byte: <c>&lt;0x0A&gt;</c>.</summary>
    public static string ByteToken(byte b) => $"<0x{b:X2}>";

    /// <summary>Appends the ids of <paramref name="piece"/> to <paramref name="ids"/>.</summary>
    public void Encode(string piece, List<int> ids)
    {
        if (piece.Length == 0) return;
        if (_ignoreMerges && _vocab.TryGetValue(piece, out int whole)) { ids.Add(whole); return; }
        var symbols = new List<int>(piece.Length);
        int? pendingUnk = null;
        for (int i = 0; i < piece.Length; i += char.IsSurrogatePair(piece, i) ? 2 : 1)
        {
            string character = piece.Substring(i, char.IsSurrogatePair(piece, i) ? 2 : 1);
            if (_vocab.TryGetValue(character, out int id))
            {
                Flush();
                symbols.Add(id);
            }
            else if (_bytes is not null && System.Text.Encoding.UTF8.GetBytes(character) is var utf8 && utf8.All(b => _bytes[b] >= 0))
            {
                Flush();
                foreach (byte b in utf8) symbols.Add(_bytes[b]);
            }
            else if (_unk is int unk)
            {
                if (!_fuseUnk) Flush();
                pendingUnk = unk;
            }
            else throw new ArgumentException($"'{character}' is not in the vocabulary and the tokenizer has no unknown token");
        }
        Flush();
        ids.AddRange(Merge(symbols));

        void Flush()
        {
            if (pendingUnk is int u) symbols.Add(u);
            pendingUnk = null;
        }
    }

    /// <summary>Applies the merges to <paramref name="symbols"/>: a doubly linked list and a queue of candidate pairs.</summary>
    List<int> Merge(List<int> symbols)
    {
        int n = symbols.Count;
        var id = symbols.ToArray();
        var prev = new int[n];
        var next = new int[n];
        var alive = new bool[n];
        for (int i = 0; i < n; i++) { prev[i] = i - 1; next[i] = i + 1 < n ? i + 1 : -1; alive[i] = true; }
        var queue = new PriorityQueue<(int Pos, int Merged), (int Rank, int Pos)>();
        void Offer(int left)
        {
            int right = next[left];
            if (right >= 0 && _merges.TryGetValue((id[left], id[right]), out var m)) queue.Enqueue((left, m.Merged), (m.Rank, left));
        }
        for (int i = 0; i + 1 < n; i++) Offer(i);
        while (queue.TryDequeue(out var top, out _))
        {
            int left = top.Pos, right = next[left];
            // A stale entry: its left symbol was merged away, or the pair changed since it was queued.
            if (!alive[left] || right < 0 || !_merges.TryGetValue((id[left], id[right]), out var m) || m.Merged != top.Merged) continue;
            id[left] = top.Merged;
            alive[right] = false;
            next[left] = next[right];
            if (next[left] >= 0) prev[next[left]] = left;
            if (prev[left] >= 0) Offer(prev[left]);
            Offer(left);
        }
        var merged = new List<int>(n);
        for (int i = 0; i < n; i++) if (alive[i]) merged.Add(id[i]);
        return merged;
    }
}
