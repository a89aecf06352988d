using SelfAlign.Inference;
using SelfAlign.Text;

namespace SelfAlign.Tests.Judging;

/// <summary>
/// An <see cref="ILanguageModel"/> with known answers: next-token log-probabilities and completions
/// are looked up by the decoded prompt text, so judge formulas can be checked against closed forms.
/// </summary>
internal sealed class ScriptedModel(Tokenizer tokenizer) : ILanguageModel
{
    /// <summary>Log-probabilities of chosen next tokens by prompt text; tokens not named get log 1e-12.</summary>
    public Func<string, IReadOnlyDictionary<int, double>> NextToken { get; init; } = _ => new Dictionary<int, double>();
    /// <summary>The completion text for (prompt text, sample index).</summary>
    public Func<string, int, string> Completion { get; init; } = (_, _) => "";
    /// <summary>Prompts seen by <see cref="NextTokenLogProbs"/>, decoded.</summary>
    public List<string> Seen { get; } = [];

    public Tokenizer Tokenizer => tokenizer;
    public int MaxSequenceLength => 1 << 20;

    public IReadOnlyList<double[]> NextTokenLogProbs(IReadOnlyList<IReadOnlyList<int>> prompts, IReadOnlyList<int> tokenIds, Action<int>? onProgress = null)
    {
        var result = prompts.Select(p =>
        {
            string text = tokenizer.Decode(p);
            Seen.Add(text);
            var known = NextToken(text);
            return tokenIds.Select(t => known.TryGetValue(t, out var lp) ? lp : Math.Log(1e-12)).ToArray();
        }).ToArray();
        onProgress?.Invoke(prompts.Count);
        return result;
    }

    public IEnumerable<Completion> Generate(IReadOnlyList<GenerationRequest> requests, SamplingOptions sampling, Action<int>? onTokens = null)
    {
        for (int r = 0; r < requests.Count; r++)
            for (int s = 0; s < requests[r].Samples; s++)
            {
                string text = Completion(tokenizer.Decode(requests[r].PromptIds), s);
                yield return new Completion(r, s, tokenizer.Encode(text), [], text, FinishReason.Stop);
            }
    }

    /// <summary>The log-likelihood of a completion (decoded) after a prompt (decoded).</summary>
    public Func<string, string, double>? LogProb { get; init; }

    public IReadOnlyList<double> CompletionLogProbs(IReadOnlyList<(IReadOnlyList<int> Prompt, IReadOnlyList<int> Completion)> items, Action<int>? onProgress = null) =>
        LogProb is { } lp ? [.. items.Select(it => lp(tokenizer.Decode(it.Prompt), tokenizer.Decode(it.Completion)))] : throw new NotSupportedException();

    /// <summary>The id of a single-token string.</summary>
    public int Id(string token) => tokenizer.SingleTokenId(token) ?? throw new ArgumentException(token);
}
