using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using SelfAlign.Text;
using AiMessage = Microsoft.Extensions.AI.ChatMessage;

namespace SelfAlign.Inference;

/// <summary>
/// <c>Microsoft.Extensions.AI</c>'s <see cref="IChatClient"/> on an <see cref="ILanguageModel"/> (the
/// local engine, or servers), so a .NET application can talk to a SelfAlign model through the
/// standard abstraction: the messages are rendered with the model's chat template and one reply is
/// sampled with the options' temperature, top-p, top-k, stop sequences, token budget and seed.
/// Text content only; a streaming call yields the whole reply as one update.
/// </summary>
/// <param name="engine">The engine that answers.</param>
/// <param name="modelId">The name replies carry.</param>
public sealed class LanguageModelChatClient(ILanguageModel engine, string modelId) : IChatClient
{
    /// <summary>Most new tokens when the options set none.</summary>
    public const int DefaultMaxOutputTokens = 512;

    /// <inheritdoc />
    public Task<ChatResponse> GetResponseAsync(IEnumerable<AiMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        Task.Run(() => Respond(messages, options), cancellationToken);

    /// <inheritdoc />
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<AiMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var response = await GetResponseAsync(messages, options, cancellationToken);
        yield return new ChatResponseUpdate(ChatRole.Assistant, response.Text)
        {
            FinishReason = response.FinishReason, ModelId = response.ModelId, ResponseId = response.ResponseId,
        };
    }

    ChatResponse Respond(IEnumerable<AiMessage> messages, ChatOptions? options)
    {
        var turns = messages.Select(m => new Text.ChatMessage(m.Role.Value, m.Text)).ToList();
        if (options?.Instructions is { Length: > 0 } instructions) turns.Insert(0, new Text.ChatMessage("system", instructions));
        var prompt = engine.Tokenizer.Encode(engine.Template.Render(turns, addGenerationPrompt: true));
        var sampling = new SamplingOptions
        {
            Temperature = options?.Temperature ?? 1.0, TopP = options?.TopP ?? 1.0, TopK = options?.TopK ?? 0,
            MaxNewTokens = options?.MaxOutputTokens ?? DefaultMaxOutputTokens, StopStrings = [.. options?.StopSequences ?? []],
        };
        var reply = engine.Generate([new GenerationRequest(prompt, 1, unchecked((ulong)(options?.Seed ?? 0)))], sampling).Single();
        return new ChatResponse(new AiMessage(ChatRole.Assistant, reply.Text))
        {
            ModelId = modelId, ResponseId = Guid.NewGuid().ToString("N"), CreatedAt = DateTimeOffset.UtcNow,
            FinishReason = reply.FinishReason == FinishReason.Length ? ChatFinishReason.Length : ChatFinishReason.Stop,
            Usage = new UsageDetails { InputTokenCount = prompt.Count, OutputTokenCount = reply.TokenIds.Count, TotalTokenCount = prompt.Count + reply.TokenIds.Count },
        };
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is not null ? null
        : serviceType == typeof(ChatClientMetadata) ? new ChatClientMetadata("selfalign", defaultModelId: modelId)
        : serviceType.IsInstanceOfType(this) ? this
        : serviceType.IsInstanceOfType(engine) ? engine
        : null;

    /// <inheritdoc />
    public void Dispose() { }
}
