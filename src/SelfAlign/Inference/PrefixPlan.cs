namespace SelfAlign.Inference;

/// <summary>
/// How a set of prompts is scored with shared prefixes: prompts that start with the same tokens
/// (a judge's instruction and template header) form a group whose common prefix is computed
/// once; each group's remainders are sorted by length and cut into batches under a token budget,
/// so rows of a batch have similar lengths and padding stays small.
/// </summary>
internal sealed record PrefixPlan(IReadOnlyList<PrefixPlan.Group> Groups)
{
    /// <summary>Prompts sharing their first <paramref name="PrefixLength"/> tokens; batches hold prompt indices.</summary>
    public sealed record Group(int PrefixLength, IReadOnlyList<int[]> Batches);

    /// <summary>Plans <paramref name="prompts"/>; every prompt keeps at least its last token outside the prefix.</summary>
    /// <param name="prompts">Token ids of each prompt (non-empty).</param>
    /// <param name="minShared">Shortest common prefix worth a group of its own.</param>
    /// <param name="maxBatchTokens">Most padded remainder tokens in one batch (a longer prompt gets a batch alone).</param>
    /// <param name="maxBatchRows">Most prompts in one batch.</param>
    public static PrefixPlan Build(IReadOnlyList<IReadOnlyList<int>> prompts, int minShared, int maxBatchTokens, int maxBatchRows)
    {
        var order = Enumerable.Range(0, prompts.Count).ToArray();
        Array.Sort(order, (a, b) => Compare(prompts[a], prompts[b]));

        var groups = new List<Group>();
        int start = 0, shared = int.MaxValue;
        for (int i = 1; i <= order.Length; i++)
        {
            int common = i < order.Length ? CommonPrefix(prompts[order[i - 1]], prompts[order[i]]) : 0;
            if (i < order.Length && common >= minShared) { shared = Math.Min(shared, common); continue; }
            var members = order[start..i];
            int prefix = members.Length > 1 ? shared : 0;
            groups.Add(new Group(prefix, LengthBuckets(members, m => prompts[m].Count - prefix, maxBatchTokens, maxBatchRows)));
            start = i;
            shared = int.MaxValue;
        }
        return new PrefixPlan(groups);
    }

    /// <summary>
    /// <paramref name="members"/> sorted by length and cut into batches of at most
    /// <paramref name="maxBatchRows"/> rows whose padded size stays within <paramref name="maxBatchTokens"/>.
    /// </summary>
    public static IReadOnlyList<int[]> LengthBuckets(int[] members, Func<int, int> length, int maxBatchTokens, int maxBatchRows)
    {
        var sorted = members.OrderBy(length).ToArray();
        var batches = new List<int[]>();
        int begin = 0;
        for (int i = 1; i <= sorted.Length; i++)
        {
            // Sorted ascending, so the newest row is the longest: the batch costs rows x its length.
            bool full = i == sorted.Length || i - begin >= maxBatchRows || (i - begin + 1) * length(sorted[i]) > maxBatchTokens;
            if (!full) continue;
            batches.Add(sorted[begin..i]);
            begin = i;
        }
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
