namespace SelfAlign.Text;

/// <summary>
/// How the next token is chosen, applied in Hugging Face's order: repetition penalty, temperature,
/// top-k, top-p, min-p. A temperature of 0 means greedy decoding.
/// </summary>
public sealed record SamplingOptions
{
    /// <summary>Divides the logits; 0 picks the most likely token (greedy).</summary>
    public double Temperature { get; init; } = 1.0;
    /// <summary>Keep only the k most likely tokens; 0 keeps all.</summary>
    public int TopK { get; init; }
    /// <summary>Keep the smallest set of most likely tokens whose probability reaches p; 1 keeps all.</summary>
    public double TopP { get; init; } = 1.0;
    /// <summary>Drop tokens less likely than min_p times the most likely one; 0 keeps all.</summary>
    public double MinP { get; init; }
    /// <summary>Penalty (&gt; 1 discourages) on tokens already in the prompt or the output, as in CTRL / Hugging Face.</summary>
    public double RepetitionPenalty { get; init; } = 1.0;
    /// <summary>Most tokens to generate per sequence.</summary>
    public int MaxNewTokens { get; init; } = 256;
    /// <summary>Token ids that end a sequence (not part of its text); the model's eos ids by default.</summary>
    public IReadOnlyList<int>? StopTokenIds { get; init; }
    /// <summary>Strings that end a sequence; the text is cut before the stop string.</summary>
    public IReadOnlyList<string> StopStrings { get; init; } = [];

    /// <summary>True when decoding is deterministic argmax.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool Greedy => Temperature <= 0;

    /// <summary>Checks the ranges; throws <see cref="ArgumentException"/> naming the bad option.</summary>
    public void Validate()
    {
        if (!(Temperature >= 0) || double.IsInfinity(Temperature)) throw new InvalidSettingException("temperature", $"must be >= 0 (0: greedy), got {Temperature}");
        if (TopK < 0) throw new InvalidSettingException("top_k", $"must be >= 0 (0: off), got {TopK}");
        if (!(TopP is > 0 and <= 1)) throw new InvalidSettingException("top_p", $"must be in (0, 1], got {TopP}");
        if (!(MinP is >= 0 and <= 1)) throw new InvalidSettingException("min_p", $"must be in [0, 1], got {MinP}");
        if (!(RepetitionPenalty > 0) || double.IsInfinity(RepetitionPenalty)) throw new InvalidSettingException("repetition_penalty", $"must be > 0 (1: none), got {RepetitionPenalty}");
        if (MaxNewTokens < 1) throw new InvalidSettingException("max_new_tokens", $"must be at least 1, got {MaxNewTokens}");
    }
}
