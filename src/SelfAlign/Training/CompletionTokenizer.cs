using SelfAlign.Text;

namespace SelfAlign.Training;

/// <summary>Token ids of a prompt and of the completion that follows it; only the completion is scored.</summary>
public sealed record TokenizedCompletion(int[] Prompt, int[] Completion)
{
    /// <summary>Prompt and completion tokens.</summary>
    public int Length => Prompt.Length + Completion.Length;
}

/// <summary>
/// Splits a prompt and its completion into token ids the way TRL's trainers do. With a chat
/// template (conversational data), the prompt is the conversation rendered with the generation
/// prompt and the completion is what the full conversation, with the assistant's reply,
/// renders after it; the template's end-of-turn token is the completion's end, kept once. Without
/// one (standard data), the completion is followed by the tokenizer's eos. Prompt and completion
/// are tokenized separately, so no token spans the boundary.
/// </summary>
/// <param name="tokenizer">The model's tokenizer.</param>
/// <param name="template">The chat template, or null for raw text (TRL's standard format).</param>
/// <param name="maxLength">Most prompt + completion tokens; the completion is cut at the end.</param>
/// <param name="maxPromptLength">Most prompt tokens; longer prompts keep their end.</param>
public sealed class CompletionTokenizer(Tokenizer tokenizer, ChatTemplate? template, int maxLength = 1024, int maxPromptLength = 512)
{
    /// <summary>The ids of <paramref name="completion"/> after <paramref name="prompt"/>.</summary>
    public TokenizedCompletion Encode(ExamplePrompt prompt, string completion)
    {
        int[] promptIds, completionIds;
        if (template is null)
        {
            string text = prompt.Text ?? throw new ArgumentException("a conversation needs the chat template (raw text mode takes prompt strings)");
            promptIds = [.. tokenizer.Encode(text)];
            int eos = tokenizer.Special.EosId ?? throw new ArgumentException("raw text mode appends eos, but the tokenizer has no eos token");
            completionIds = [.. tokenizer.Encode(completion), eos];
        }
        else
        {
            var messages = prompt.Messages ?? [new ChatMessage("user", prompt.Text!)];
            string promptText = template.Render(messages, addGenerationPrompt: true);
            string full = template.Render([.. messages, new ChatMessage("assistant", completion)]);
            if (!full.StartsWith(promptText, StringComparison.Ordinal))
                throw new ArgumentException("the chat template does not render the prompt (with the generation prompt) as the start of the full conversation, so the completion cannot be isolated");
            promptIds = [.. tokenizer.Encode(promptText)];
            completionIds = [.. tokenizer.Encode(full[promptText.Length..])];
        }
        if (promptIds.Length > maxPromptLength) promptIds = promptIds[^maxPromptLength..];
        int room = Math.Max(1, maxLength - promptIds.Length);
        if (completionIds.Length > room) completionIds = completionIds[..room];
        return new TokenizedCompletion(promptIds, completionIds);
    }
}
