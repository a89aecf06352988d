using TorchSharp;
using static TorchSharp.torch;

namespace SelfAlign.Training;

/// <summary>
/// Prompt + completion rows, right-padded into one [rows, longest] batch. Which tokens count
/// comes from each row's lengths, never from comparing ids with the pad id, so a pad id that
/// equals eos cannot hide a real end-of-turn token.
/// </summary>
public sealed class SequenceBatch : IDisposable
{
    SequenceBatch(Tensor ids, Tensor scored, int[] completionLengths)
    {
        Ids = ids;
        Scored = scored;
        CompletionLengths = completionLengths;
    }

    /// <summary>[rows, longest] token ids (int64).</summary>
    public Tensor Ids { get; }
    /// <summary>[rows, longest] bool: true for completion tokens.</summary>
    public Tensor Scored { get; }
    /// <summary>Completion tokens per row.</summary>
    public int[] CompletionLengths { get; }
    /// <summary>Real (unpadded) tokens in the batch.</summary>
    public long RealTokens { get; private init; }

    /// <summary>Collates <paramref name="rows"/>, filling with <paramref name="padId"/>.</summary>
    public static SequenceBatch Create(IReadOnlyList<TokenizedCompletion> rows, int padId, Device? device = null)
    {
        int longest = rows.Max(r => r.Length);
        var ids = new long[rows.Count * longest];
        var scored = new bool[rows.Count * longest];
        Array.Fill(ids, padId);
        for (int r = 0; r < rows.Count; r++)
        {
            int at = r * longest;
            foreach (int id in rows[r].Prompt) ids[at++] = id;
            foreach (int id in rows[r].Completion)
            {
                scored[at] = true;
                ids[at++] = id;
            }
        }
        var target = device ?? torch.CPU;
        return new SequenceBatch(torch.tensor(ids, [rows.Count, longest]).to(target), torch.tensor(scored, [rows.Count, longest]).to(target),
            rows.Select(r => r.Completion.Length).ToArray()) { RealTokens = rows.Sum(r => (long)r.Length) };
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Ids.Dispose();
        Scored.Dispose();
    }
}
