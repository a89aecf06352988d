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
        // Two responses to one question share it too: the plan nests a second shared stretch.
        string[] bodies = ["What is 2+2? It is 4.", "What is 2+2? It is 5, said the machine.", "Name a color. Blue.",
            "Write a haiku about rain falling on the quiet roof tonight.", "Hi", "Is water wet? Depends on who you ask, really."];
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
                Assert.Equal(plain[i][k], fast[i][k], 1e-4);
        // Normalized over the whole vocabulary: these are proper log-probabilities.
        Assert.All(fast.SelectMany(r => r), lp => Assert.True(lp < 0));
    }

    [Fact]
    public void Plan_nests_shared_stretches_and_rebuilds_every_prompt_once()
    {
        var prompts = Prompts();
        var plan = PrefixPlan.Build(prompts, minShared: 4, maxBatchTokens: 40, maxBatchRows: 3);

        // Following each leaf up through the rows it continues spells out its prompt exactly.
        var rebuilt = new Dictionary<int, List<int>>();
        int nested = 0;
        void Walk(IReadOnlyList<PrefixPlan.Batch> batches, IReadOnlyList<int>[] parentTokens, int depth)
        {
            foreach (var batch in batches)
            {
                Assert.InRange(batch.Rows.Count, 1, 3);
                var tokens = batch.Rows.Select(r =>
                {
                    var before = r.ParentRow < 0 ? [] : parentTokens[r.ParentRow];
                    Assert.Equal(before.Count, r.Start);
                    return (IReadOnlyList<int>)[.. before, .. prompts[r.Source].Take(r.End).Skip(r.Start)];
                }).ToArray();
                foreach (var (row, t) in batch.Rows.Zip(tokens))
                    if (row.Leaf) { Assert.True(row.Length >= 1); rebuilt.Add(row.Source, [.. t]); }
                if (depth >= 2 && batch.Rows.Any(r => !r.Leaf)) nested++;
                Walk(batch.Next, tokens, depth + 1);
            }
        }
        Walk(plan.Batches, [], 1);

        Assert.Equal(Enumerable.Range(0, prompts.Count), rebuilt.Keys.Order());
        foreach (var (i, tokens) in rebuilt) Assert.Equal(prompts[i], tokens);
        // The two heads are shared stretches at the top; each head's 2+2 question is shared below it.
        Assert.Equal(2, plan.Batches.SelectMany(b => b.Rows).Count(r => !r.Leaf && r.Length >= 10));
        Assert.True(nested >= 1);
    }

    [Fact]
    public void Length_buckets_keep_limits_and_do_not_pad_short_rows_to_a_long_one()
    {
        int[] lengths = [10, 12, 10, 11, 300, 9, 290];
        var batches = PrefixPlan.LengthBuckets([.. Enumerable.Range(0, lengths.Length)], i => lengths[i], maxBatchTokens: 1000, maxBatchRows: 4);
        Assert.Equal(Enumerable.Range(0, lengths.Length), batches.SelectMany(b => b).Order());
        Assert.All(batches, b => Assert.InRange(b.Length, 1, 4));
        Assert.All(batches, b => Assert.True(b.Length * b.Max(i => lengths[i]) <= 1000));
        // Filling the first batch up to its budget would pad a short row to 290 tokens.
        Assert.All(batches, b => Assert.True(b.All(i => lengths[i] < 100) || b.All(i => lengths[i] >= 100)));
        // A row longer than the budget still runs, alone.
        Assert.Single(PrefixPlan.LengthBuckets([0], _ => 5000, maxBatchTokens: 1000, maxBatchRows: 4));
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
            Assert.Equal(expected, got[i], 1e-3);
        }
    }
}
