using SelfAlign.Inference;
using SelfAlign.Modeling;
using SelfAlign.Text;
using TorchSharp;
using Xunit;

namespace SelfAlign.Tests.Inference;

/// <summary>Batched generation against step-by-step full forwards, seeds across batch compositions, stops.</summary>
public sealed class GeneratorTests : IDisposable
{
    // A tiny float32 model over the real SmolLM2 vocabulary, so that decoding is real text.
    readonly Tokenizer _tokenizer = TestModels.Tokenizer("smollm2");
    readonly CausalLm _model;
    readonly Generator _generator;

    public GeneratorTests()
    {
        _model = TestModels.Random(TestModels.Tiny() with { VocabSize = 49152, EosTokenIds = [2] });
        _generator = new Generator(_model, _tokenizer);
    }

    public void Dispose() => _model.Dispose();

    GenerationRequest Request(string text, int samples = 1, ulong seed = 0) => new(_tokenizer.Encode(text), samples, seed);

    List<int> ReferenceGreedy(IReadOnlyList<int> prompt, int maxNew)
    {
        var ids = prompt.ToList();
        var output = new List<int>();
        for (int step = 0; step < maxNew; step++)
        {
            using var input = torch.tensor(ids.Select(i => (long)i).ToArray(), [1, ids.Count]);
            using var logits = _model.Forward(input, positions: LogitPositions.Last);
            int next = (int)logits.argmax(-1).item<long>();
            if (next == 2) break;
            output.Add(next);
            ids.Add(next);
        }
        return output;
    }

    [Fact]
    public void Greedy_batched_equals_argmax_over_full_forwards()
    {
        var requests = new[] { Request("The capital of France is", 2), Request("def f(x):"), Request("1 2 3 4 5 6 7 8 9 10", 2) };
        var greedy = new SamplingOptions { Temperature = 0, MaxNewTokens = 12 };
        var completions = _generator.Generate(requests, greedy).ToList();
        Assert.Equal(5, completions.Count);
        foreach (var c in completions)
        {
            var expected = ReferenceGreedy(requests[c.Request].PromptIds, 12);
            Assert.Equal(expected, c.TokenIds);
            Assert.Equal(expected.Count == 12 ? FinishReason.Length : FinishReason.Stop, c.FinishReason);
            Assert.Equal(_tokenizer.Decode(expected, skipSpecialTokens: true), c.Text);
            Assert.Equal(c.TokenIds.Count, c.LogProbs.Count);
            Assert.All(c.LogProbs, lp => Assert.True(lp <= 0));
        }
    }

    [Fact]
    public void Seeded_samples_do_not_depend_on_the_batch()
    {
        var sampling = new SamplingOptions { Temperature = 0.9, TopK = 50, TopP = 0.95, MaxNewTokens = 10 };
        var a = Request("Write a haiku about rain.", 3, seed: 11);
        var b = Request("Tell me a joke", 2, seed: 5);
        var alone = _generator.Generate([a], sampling).OrderBy(c => c.Sample).Select(c => c.TokenIds).ToList();
        var mixed = _generator.Generate([b, a], sampling, new GeneratorOptions(MaxBatchRows: 4)).Where(c => c.Request == 1).OrderBy(c => c.Sample).Select(c => c.TokenIds).ToList();
        var unshared = _generator.Generate([a], sampling, new GeneratorOptions(SharePrefill: false)).OrderBy(c => c.Sample).Select(c => c.TokenIds).ToList();
        Assert.Equal(alone, mixed);
        Assert.Equal(alone, unshared);
        Assert.NotEqual(alone[0], alone[1]);   // samples of one prompt differ
        var reseeded = _generator.Generate([a with { Seed = 12 }], sampling).OrderBy(c => c.Sample).Select(c => c.TokenIds).ToList();
        Assert.NotEqual(alone, reseeded);
    }

    [Fact]
    public void Stop_tokens_and_stop_strings_end_sequences()
    {
        var request = Request("Once upon a time");
        var free = _generator.Generate([request], new SamplingOptions { Temperature = 0, MaxNewTokens = 16, StopTokenIds = [] }).Single();
        Assert.Equal(FinishReason.Length, free.FinishReason);

        int third = free.TokenIds[2];
        int firstAt = free.TokenIds.ToList().IndexOf(third);
        var byToken = _generator.Generate([request], new SamplingOptions { Temperature = 0, MaxNewTokens = 16, StopTokenIds = [third] }).Single();
        Assert.Equal(FinishReason.Stop, byToken.FinishReason);
        Assert.Equal(free.TokenIds.Take(firstAt), byToken.TokenIds);

        string stop = free.Text.Substring(free.Text.Length / 2, 3);
        var byString = _generator.Generate([request], new SamplingOptions { Temperature = 0, MaxNewTokens = 16, StopTokenIds = [], StopStrings = [stop] }).Single();
        Assert.Equal(FinishReason.Stop, byString.FinishReason);
        Assert.Equal(free.Text[..free.Text.IndexOf(stop, StringComparison.Ordinal)], byString.Text);
        Assert.True(byString.TokenIds.Count <= free.TokenIds.Count);
    }
}
