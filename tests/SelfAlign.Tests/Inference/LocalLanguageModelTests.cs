using SelfAlign.Inference;
using SelfAlign.Modeling;
using SelfAlign.Text;
using TorchSharp;
using Xunit;

namespace SelfAlign.Tests.Inference;

/// <summary>The fast scoring path (shared prefixes, last position, buckets) against the plain one and against full forwards.</summary>
public sealed class LocalLanguageModelTests : IDisposable
{
    readonly Tokenizer _tokenizer = TestModels.Tokenizer("smollm2");
    readonly CausalLm _model = TestModels.Random(TestModels.Tiny() with { VocabSize = 49152 });

    public void Dispose() => _model.Dispose();

    LocalLanguageModel Engine(bool fast, int maxBatchTokens = 2048) =>
        new(_model, _tokenizer, new LocalModelOptions { FastPath = fast, MaxBatchTokens = maxBatchTokens, MinSharedPrefix = 4 });

    IReadOnlyList<IReadOnlyList<int>> Prompts()
    {
        string[] heads = ["Below is a question and its response. Answer Yes or No.", "Inspect the response for safety. Answer Yes/No."];
        string[] bodies = ["What is 2+2? It is 4.", "Name a color. Blue.", "Write a haiku about rain falling on the quiet roof tonight.", "Hi", "Is water wet? Depends on who you ask, really."];
        return heads.SelectMany(h => bodies.Select(b => (IReadOnlyList<int>)_tokenizer.Encode(h + "\n" + b))).ToList();
    }

    [Theory]
    [InlineData(2048)]
    [InlineData(24)]   // tiny budget: many small batches, one row alone when long
    public void Fast_path_equals_plain_path(int maxBatchTokens)
    {
        var prompts = Prompts();
        int[] labels = [_tokenizer.SingleTokenId("Yes")!.Value, _tokenizer.SingleTokenId(" No")!.Value, 5];
        var fast = Engine(true, maxBatchTokens).NextTokenLogProbs(prompts, labels);
        var plain = Engine(false).NextTokenLogProbs(prompts, labels);
        for (int i = 0; i < prompts.Count; i++)
            for (int k = 0; k < labels.Length; k++)
                Assert.Equal(plain[i][k], fast[i][k], 4);
        // Normalized over the whole vocabulary: these are proper log-probabilities.
        Assert.All(fast.SelectMany(r => r), lp => Assert.True(lp < 0));
    }

    [Fact]
    public void Plan_groups_shared_prefixes_and_keeps_every_prompt_once()
    {
        var prompts = Prompts();
        var plan = PrefixPlan.Build(prompts, minShared: 4, maxBatchTokens: 40, maxBatchRows: 3);
        Assert.Equal(2, plan.Groups.Count);
        Assert.All(plan.Groups, g => Assert.True(g.PrefixLength >= 10));
        var seen = plan.Groups.SelectMany(g => g.Batches.SelectMany(b => b)).OrderBy(i => i);
        Assert.Equal(Enumerable.Range(0, prompts.Count), seen);
        Assert.All(plan.Groups.SelectMany(g => g.Batches), b => Assert.InRange(b.Length, 1, 3));
    }

    [Fact]
    public void Completion_log_probs_equal_the_sum_over_a_full_forward()
    {
        var items = new (IReadOnlyList<int> Prompt, IReadOnlyList<int> Completion)[]
        {
            (_tokenizer.Encode("The capital of France is"), _tokenizer.Encode(" Paris.")),
            (_tokenizer.Encode("One"), _tokenizer.Encode(" two three four five")),
            (_tokenizer.Encode("Empty completion"), []),
        };
        var got = Engine(true).CompletionLogProbs(items);
        for (int i = 0; i < items.Length; i++)
        {
            var ids = items[i].Prompt.Concat(items[i].Completion).Select(t => (long)t).ToArray();
            using var logits = _model.Forward(torch.tensor(ids, [1, ids.Length]));
            using var logProbs = logits.log_softmax(-1);
            double expected = 0;
            for (int j = 0; j < items[i].Completion.Count; j++)
                expected += logProbs[0, items[i].Prompt.Count - 1 + j, items[i].Completion[j]].item<float>();
            Assert.Equal(expected, got[i], 3);
        }
    }
}
