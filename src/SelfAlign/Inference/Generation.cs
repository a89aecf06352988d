namespace SelfAlign.Inference;

/// <summary>One prompt to complete <paramref name="Samples"/> times.</summary>
/// <param name="PromptIds">The prompt's token ids (chat template already applied).</param>
/// <param name="Samples">Independent completions to draw.</param>
/// <param name="Seed">Seed of this request: sample i always draws the same tokens, whatever else is in the batch.</param>
public sealed record GenerationRequest(IReadOnlyList<int> PromptIds, int Samples = 1, ulong Seed = 0)
{
    /// <summary>Draw only these sample indices (a resumed run skips the finished ones); all when null.</summary>
    public IReadOnlyList<int>? Only { get; init; }
}

/// <summary>Why a sequence ended.</summary>
public enum FinishReason
{
    /// <summary>A stop token or stop string.</summary>
    Stop,
    /// <summary>The token budget ran out.</summary>
    Length,
}

/// <summary>One finished completion.</summary>
/// <param name="Request">Index of the request in the input list.</param>
/// <param name="Sample">Sample index within the request.</param>
/// <param name="TokenIds">Generated tokens (the stop token excluded).</param>
/// <param name="LogProbs">Each token's log-probability under the model (raw logits, temperature 1).</param>
/// <param name="Text">Decoded text, special tokens skipped, cut before a stop string.</param>
/// <param name="FinishReason">Why it ended.</param>
public sealed record Completion(int Request, int Sample, IReadOnlyList<int> TokenIds, IReadOnlyList<float> LogProbs, string Text, FinishReason FinishReason)
{
    /// <summary>Sum of <see cref="LogProbs"/>: the sequence log-probability.</summary>
    public double SumLogProb => LogProbs.Sum(x => (double)x);
}

/// <summary>Batching choices of the generator.</summary>
/// <param name="MaxBatchRows">Most sequences decoded together.</param>
/// <param name="SharePrefill">Prefill each prompt once and copy its cache to its samples (off: every sample prefills on its own).</param>
public sealed record GeneratorOptions(int MaxBatchRows = 32, bool SharePrefill = true);
