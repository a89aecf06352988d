using SelfAlign.Text;

namespace SelfAlign.Inference;

/// <summary>
/// What judges and trainers ask of a language model, in token ids of <see cref="Tokenizer"/>.
/// Judges depend on this interface only, so any engine that answers it can judge.
/// </summary>
public interface ILanguageModel
{
    /// <summary>The tokenizer whose ids the model reads and writes.</summary>
    Tokenizer Tokenizer { get; }

    /// <summary>The longest sequence (prompt and completion together) the model accepts.</summary>
    int MaxSequenceLength { get; }

    /// <summary>The chat template the model is prompted through, with its bound variables (judges render their requests with it).</summary>
    ChatTemplate Template => ChatTemplate.For(Tokenizer);

    /// <summary>
    /// For each prompt, the log-probabilities of <paramref name="tokenIds"/> as the next token,
    /// normalized over the whole vocabulary: result[prompt][k] = log p(tokenIds[k] | prompt).
    /// </summary>
    /// <param name="prompts">Token ids of each prompt, chat template already applied.</param>
    /// <param name="tokenIds">The candidate next tokens (label tokens of a judge).</param>
    /// <param name="onProgress">Hears how many prompts each batch finished.</param>
    IReadOnlyList<double[]> NextTokenLogProbs(IReadOnlyList<IReadOnlyList<int>> prompts, IReadOnlyList<int> tokenIds,
        Action<int>? onProgress = null);

    /// <summary>Samples completions for every request; see <see cref="GenerationRequest"/> for seeding.</summary>
    /// <param name="requests">Prompts with their sample counts and seeds.</param>
    /// <param name="sampling">How tokens are drawn and when sequences stop.</param>
    /// <param name="onTokens">Hears how many tokens each decoding step produced.</param>
    IEnumerable<Completion> Generate(IReadOnlyList<GenerationRequest> requests, SamplingOptions sampling, Action<int>? onTokens = null);

    /// <summary>For each (prompt, completion), the sum of the completion tokens' log-probabilities after the prompt.</summary>
    /// <param name="items">Prompt and completion token ids.</param>
    /// <param name="onProgress">Hears how many items each batch finished.</param>
    IReadOnlyList<double> CompletionLogProbs(IReadOnlyList<(IReadOnlyList<int> Prompt, IReadOnlyList<int> Completion)> items,
        Action<int>? onProgress = null);
}
