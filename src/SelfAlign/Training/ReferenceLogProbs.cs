using SelfAlign.Data;
using SelfAlign.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace SelfAlign.Training;

/// <summary>A pair's tokens: the shared prompt with each response.</summary>
public sealed record TokenizedPair(string Id, TokenizedCompletion Chosen, TokenizedCompletion Rejected, double? Strength);

/// <summary>
/// The reference model's summed log-probabilities of each pair's responses, computed once before
/// training and kept in a JSONL file (<c>{"id", "chosen", "rejected"}</c>), so the frozen
/// reference never runs again during training. The file is appended to as batches finish, so an
/// interrupted computation resumes; the values are float32 written exactly.
/// </summary>
public static class ReferenceLogProbs
{
    /// <summary>
    /// Reads the cached values of <paramref name="pairs"/> from <paramref name="file"/>, computing
    /// the missing ones with <paramref name="model"/> (its adapter, if any, is detached meanwhile).
    /// </summary>
    public static Dictionary<string, (float Chosen, float Rejected)> Load(CausalLm model, IReadOnlyList<TokenizedPair> pairs, string file,
        int padId, int batchTokens = 4096, Action<int>? onPairs = null)
    {
        using var output = JsonlAppender.Open(file);
        var values = new Dictionary<string, (float Chosen, float Rejected)>();
        foreach (var row in output.Existing) values[row.String("id")] = ((float)row.Number("chosen"), (float)row.Number("rejected"));
        var missing = pairs.Where(p => !values.ContainsKey(p.Id)).OrderBy(p => Math.Max(p.Chosen.Length, p.Rejected.Length)).ToList();
        var adapter = model.Adapter;
        model.Adapter = null;
        try
        {
            using var noGrad = torch.no_grad();
            for (int start = 0; start < missing.Count;)
            {
                int longest = 0, n = 0;
                while (start + n < missing.Count)
                {
                    int next = Math.Max(longest, Math.Max(missing[start + n].Chosen.Length, missing[start + n].Rejected.Length));
                    if (n > 0 && 2 * (n + 1) * next > batchTokens) break;
                    (longest, n) = (next, n + 1);
                }
                var group = missing.GetRange(start, n);
                using var scope = torch.NewDisposeScope();
                using var batch = SequenceBatch.Create([.. group.Select(p => p.Chosen), .. group.Select(p => p.Rejected)], padId, model.Device);
                var sums = model.SequenceLogProbs(batch.Ids, batch.Scored).cpu().data<float>().ToArray();
                for (int i = 0; i < n; i++)
                {
                    values[group[i].Id] = (sums[i], sums[n + i]);
                    output.Append(new Dictionary<string, object> { ["id"] = group[i].Id, ["chosen"] = sums[i], ["rejected"] = sums[n + i] });
                }
                start += n;
                onPairs?.Invoke(n);
            }
        }
        finally
        {
            model.Adapter = adapter;
        }
        return values;
    }
}
