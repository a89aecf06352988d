using Microsoft.Extensions.AI;
using SelfAlign.Inference;
using SelfAlign.Text;
using Xunit;

namespace SelfAlign.Tests.Serving;

/// <summary>The <c>IChatClient</c> on an engine: the chat template, the options and the seed, locally and on a server alike.</summary>
public sealed class ChatClientTests(ServedModelFixture served) : IClassFixture<ServedModelFixture>
{
    [Fact]
    public async Task A_reply_is_the_engines_sample_for_the_rendered_conversation()
    {
        IChatClient client = new LanguageModelChatClient(served.Local, "tiny");
        var options = new ChatOptions { Temperature = 0.8f, TopK = 20, MaxOutputTokens = 6, Seed = 9, Instructions = "Be brief." };
        var response = await client.GetResponseAsync([new(ChatRole.User, "Name a color.")], options);

        var prompt = served.Local.Tokenizer.Encode(served.Local.Template.Render(
            [new global::SelfAlign.Text.ChatMessage("system", "Be brief."), new global::SelfAlign.Text.ChatMessage("user", "Name a color.")], addGenerationPrompt: true));
        var expected = served.Local.Generate([new GenerationRequest(prompt, 1, 9)], new SamplingOptions { Temperature = (float)0.8, TopK = 20, MaxNewTokens = 6 }).Single();
        Assert.Equal(expected.Text, response.Text);
        Assert.Equal("tiny", response.ModelId);
        Assert.Equal(expected.FinishReason == FinishReason.Length ? ChatFinishReason.Length : ChatFinishReason.Stop, response.FinishReason);
        Assert.Equal(prompt.Count, response.Usage!.InputTokenCount);
        Assert.Equal(expected.TokenIds.Count, response.Usage.OutputTokenCount);

        // On the server through the remote engine, the same conversation gets the same reply.
        using var remote = served.Remote();
        var far = await new LanguageModelChatClient(remote, "tiny").GetResponseAsync([new(ChatRole.User, "Name a color.")], options);
        Assert.Equal(response.Text, far.Text);

        var updates = new List<ChatResponseUpdate>();
        await foreach (var u in client.GetStreamingResponseAsync([new(ChatRole.User, "Name a color.")], options)) updates.Add(u);
        Assert.Equal(response.Text, Assert.Single(updates).Text);
        Assert.Equal("tiny", client.GetService<ChatClientMetadata>()!.DefaultModelId);
    }
}
