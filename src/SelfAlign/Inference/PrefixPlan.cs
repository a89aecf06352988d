namespace SelfAlign.Inference;

/// <summary>
/// How a set of prompts is scored with shared prefixes, as a tree of forward batches. Prompts are
/// arranged in a prefix tree: judge inputs share the judge's instruction, and the two responses
/// of a pair also share the question, so each shared stretch is computed once and its KV cache
/// forked for every continuation. The nodes of one level are sorted by length and cut into
/// batches under a token budget, so rows of a batch have similar lengths and padding stays small.
/// </summary>
internal sealed record PrefixPlan(IReadOnlyList<PrefixPlan.Batch> Batches)
{
    /// <summary>One row of a forward batch.</summary>
    /// <param name="Source">The prompt whose tokens the row computes.</param>
    /// <param name="Start">First token of the stretch.</param>
    /// <param name="End">One past its last token.</param>
    /// <param name="Leaf">True when the row ends its prompt, whose next-token scores it yields.</param>
    /// <param name="ParentRow">The row of the enclosing batch's cache it continues; -1 at the top, where rows start empty.</param>
    public sealed record Row(int Source, int Start, int End, bool Leaf, int ParentRow)
    {
        /// <summary>Tokens the row computes.</summary>
        public int Length => End - Start;
    }

    /// <summary>One forward pass, then the batches that continue its rows.</summary>
    public sealed record Batch(IReadOnlyList<Row> Rows, IReadOnlyList<Batch> Next);

    /// <summary>A shared stretch [Start, End) of every prompt below it, or a prompt's own end (a leaf).</summary>
    sealed record Node(int Source, int Start, int End, IReadOnlyList<Node> Children)
    {
        public int Length => End - Start;
    }

    /// <summary>Plans <paramref name="prompts"/>; every prompt keeps at least its last token in its own leaf.</summary>
    /// <param name="prompts">Token ids of each prompt (non-empty).</param>
    /// <param name="minShared">Fewest tokens a shared stretch must have to be computed once for its prompts.</param>
    /// <param name="maxBatchTokens">Most padded tokens in one batch (a longer row gets a batch alone).</param>
    /// <param name="maxBatchRows">Most rows in one batch.</param>
    public static PrefixPlan Build(IReadOnlyList<IReadOnlyList<int>> prompts, int minShared, int maxBatchTokens, int maxBatchRows)
    {
        var order = Enumerable.Range(0, prompts.Count).ToArray();
        Array.Sort(order, (a, b) => Compare(prompts[a], prompts[b]));
        var roots = Children(prompts, order, 0, minShared);
        return new PrefixPlan(Schedule([.. roots.Select(n => (n, -1))], maxBatchTokens, maxBatchRows));
    }

    /// <summary>
    /// The nodes below a stretch ending at <paramref name="start"/>: sorted neighbours that share at
    /// least <paramref name="minShared"/> more tokens form a run with a node of its own.
    /// </summary>
    static List<Node> Children(IReadOnlyList<IReadOnlyList<int>> prompts, int[] sorted, int start, int minShared)
    {
        var nodes = new List<Node>();
        int begin = 0, shared = int.MaxValue;
        for (int i = 1; i <= sorted.Length; i++)
        {
            int common = i < sorted.Length ? CommonPrefix(prompts[sorted[i - 1]], prompts[sorted[i]]) : 0;
            if (i < sorted.Length && common >= start + minShared) { shared = Math.Min(shared, common); continue; }
            var run = sorted[begin..i];
            nodes.Add(run.Length == 1
                ? new Node(run[0], start, prompts[run[0]].Count, [])
                : new Node(run[0], start, shared, Children(prompts, run, shared, minShared)));
            begin = i;
            shared = int.MaxValue;
        }
        return nodes;
    }

    /// <summary>Batches of <paramref name="items"/> (a node and the row it continues), each followed by its children's batches.</summary>
    static List<Batch> Schedule(IReadOnlyList<(Node Node, int ParentRow)> items, int maxBatchTokens, int maxBatchRows)
    {
        var batches = new List<Batch>();
        foreach (var members in LengthBuckets([.. Enumerable.Range(0, items.Count)], i => items[i].Node.Length, maxBatchTokens, maxBatchRows))
        {
            var nodes = members.Select(i => items[i]).ToArray();
            var rows = nodes.Select(x => new Row(x.Node.Source, x.Node.Start, x.Node.End, x.Node.Children.Count == 0, x.ParentRow)).ToArray();
            var children = nodes.SelectMany((x, r) => x.Node.Children.Select(c => (c, r))).ToArray();
            batches.Add(new Batch(rows, children.Length == 0 ? [] : Schedule(children, maxBatchTokens, maxBatchRows)));
        }
        return batches;
    }

    /// <summary>
    /// What one forward pass costs beyond its tokens, in tokens. Every pass reads all weights once
    /// (on 2 cores about the time of 50 tokens) and small passes run their matrix products below
    /// peak. On the judge benchmark 48, 160 and 400 ran alike within the machine's noise; 160 sits
    /// between too many small passes and too much padding.
    /// </summary>
    const int PassCostTokens = 160;

    /// <summary>
    /// <paramref name="members"/> sorted by length and cut into batches of at most
    /// <paramref name="maxBatchRows"/> rows whose padded size stays within <paramref name="maxBatchTokens"/>
    /// (a longer row gets a batch alone). The cuts minimize padded tokens plus a fixed cost per pass,
    /// so rows of very different lengths are not forced together just to fill a batch.
    /// </summary>
    public static IReadOnlyList<int[]> LengthBuckets(int[] members, Func<int, int> length, int maxBatchTokens, int maxBatchRows)
    {
        var sorted = members.OrderBy(length).ToArray();
        int n = sorted.Length;
        // cost[j]: the cheapest way to run the j shortest rows; its last batch starts at cut[j].
        var cost = new long[n + 1];
        var cut = new int[n + 1];
        for (int j = 1; j <= n; j++)
        {
            cost[j] = long.MaxValue;
            long longest = length(sorted[j - 1]);
            for (int i = j - 1; i >= 0 && j - i <= maxBatchRows; i--)
            {
                if (i < j - 1 && (j - i) * longest > maxBatchTokens) break;
                long c = cost[i] + (j - i) * longest + PassCostTokens;
                if (c < cost[j]) (cost[j], cut[j]) = (c, i);
            }
        }
        var batches = new List<int[]>();
        for (int j = n; j > 0; j = cut[j]) batches.Add(sorted[cut[j]..j]);
        batches.Reverse();
        return batches;
    }

    /// <summary>Tokens two prompts share at their start, leaving each at least its last token.</summary>
    static int CommonPrefix(IReadOnlyList<int> a, IReadOnlyList<int> b)
    {
        int limit = Math.Min(a.Count, b.Count) - 1, n = 0;
        while (n < limit && a[n] == b[n]) n++;
        return n;
    }

    static int Compare(IReadOnlyList<int> a, IReadOnlyList<int> b)
    {
        int n = Math.Min(a.Count, b.Count);
        for (int i = 0; i < n; i++)
            if (a[i] != b[i]) return a[i].CompareTo(b[i]);
        return a.Count.CompareTo(b.Count);
    }
}
