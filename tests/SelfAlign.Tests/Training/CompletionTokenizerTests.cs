using SelfAlign.Text;
using SelfAlign.Training;
using Xunit;

namespace SelfAlign.Tests.Training;

/// <summary>The prompt/completion boundary as TRL draws it.</summary>
public sealed class CompletionTokenizerTests
{
    static readonly ExamplePrompt Question = new(null, "What is 2+2?");

    [Theory]
    [InlineData("smollm2", "<|im_end|>")]
    [InlineData("llama3", "<|eot_id|>")]
    public void ChatCompletionIsWhatTheFullConversationAddsAfterTheGenerationPrompt(string name, string endOfTurn)
    {
        var tokenizer = TestModels.Tokenizer(name);
        var template = ChatTemplate.For(tokenizer);
        var split = new CompletionTokenizer(tokenizer, template).Encode(Question, "4");

        var user = new[] { new ChatMessage("user", "What is 2+2?") };
        string prompt = template.Render(user, addGenerationPrompt: true);
        string full = template.Render([.. user, new ChatMessage("assistant", "4")]);
        Assert.Equal(tokenizer.Encode(prompt), split.Prompt);
        Assert.Equal(full, tokenizer.Decode([.. split.Prompt, .. split.Completion]));
        // The completion starts exactly at the boundary and holds the end-of-turn token once.
        Assert.Equal("4", tokenizer.Decode([split.Completion[0]]));
        int end = tokenizer.TokenToId(endOfTurn)!.Value;
        Assert.Equal(1, split.Completion.Count(id => id == end));
        Assert.DoesNotContain(end, split.Prompt.TakeLast(3));
    }

    [Fact]
    public void TemplateVariablesBindThePromptTheCompletionFollows()
    {
        // Qwen3 writes an empty think block into every assistant turn of a conversation; only with
        // enable_thinking=false does its generation prompt end with that block too, so the completion
        // a candidate was sampled as is the completion it is trained on.
        var tokenizer = TestModels.Tokenizer("qwen3");
        var off = new Dictionary<string, System.Text.Json.JsonElement> { ["enable_thinking"] = System.Text.Json.JsonSerializer.SerializeToElement(false) };
        var bound = new CompletionTokenizer(tokenizer, ChatTemplate.For(tokenizer, off)).Encode(Question, "4");
        Assert.EndsWith("<think>\n\n</think>\n\n", tokenizer.Decode(bound.Prompt));
        Assert.StartsWith("4", tokenizer.Decode(bound.Completion));
        var unbound = new CompletionTokenizer(tokenizer, ChatTemplate.For(tokenizer)).Encode(Question, "4");
        Assert.StartsWith("<think>", tokenizer.Decode(unbound.Completion));
        // A judge renders its request through the same bound template.
        var renderer = new SelfAlign.Judging.JudgeRenderer(tokenizer, ChatTemplate.For(tokenizer, off));
        Assert.EndsWith("<think>\n\n</think>\n\n", tokenizer.Decode(renderer.Ids("Is it right? Answer Yes/No.")));
    }

    [Fact]
    public void NoTokenSpansTheBoundary()
    {
        // "Hello" + " world" would merge differently if tokenized as one string ending in "Hel".
        var tokenizer = TestModels.Tokenizer("smollm2");
        var split = new CompletionTokenizer(tokenizer, null).Encode(new ExamplePrompt(null, "Hel"), "lo world");
        Assert.Equal(tokenizer.Encode("Hel"), split.Prompt);
        Assert.Equal([.. tokenizer.Encode("lo world"), tokenizer.Special.EosId!.Value], split.Completion);
    }

    [Fact]
    public void RawTextAppendsEosAndTruncatesPromptFromTheLeftAndCompletionAtTheEnd()
    {
        var tokenizer = TestModels.Tokenizer("smollm2");
        string longPrompt = string.Join(" ", Enumerable.Range(0, 40).Select(i => $"w{i}"));
        var full = new CompletionTokenizer(tokenizer, null).Encode(new ExamplePrompt(null, longPrompt), "a b c d e f g h");
        var cut = new CompletionTokenizer(tokenizer, null, maxLength: 16, maxPromptLength: 10).Encode(new ExamplePrompt(null, longPrompt), "a b c d e f g h");
        Assert.Equal(full.Prompt[^10..], cut.Prompt);
        Assert.Equal(full.Completion[..6], cut.Completion);
        Assert.Equal(tokenizer.Special.EosId, full.Completion[^1]);
    }

    [Fact]
    public void PaddingWithTheEosIdNeverHidesARealEos()
    {
        const int eos = 2;
        var rows = new[] { new TokenizedCompletion([5, 6], [7, eos]), new TokenizedCompletion([5], [eos]) };
        using var batch = SequenceBatch.Create(rows, padId: eos);
        var scored = batch.Scored.data<bool>().ToArray();
        // Row 0: [5 6 7 2], completion at 2..3; row 1: [5 2 2 2], completion at 1 only.
        Assert.Equal([false, false, true, true, false, true, false, false], scored);
        Assert.Equal([2, 1], batch.CompletionLengths);
        Assert.Equal(6, batch.RealTokens);
    }
}
