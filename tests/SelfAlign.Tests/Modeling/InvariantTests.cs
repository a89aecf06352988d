using SelfAlign.Modeling;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace SelfAlign.Tests.Modeling;

/// <summary>Properties that must hold whatever the weights: caching, padding, dtype and projection options.</summary>
public sealed class InvariantTests(ITestOutputHelper output)
{
    // float32 end to end; the paths differ only in summation order.
    const double Float32Tolerance = 1e-4;

    static Tensor Ids(int batch, int length, int vocab, int seed) =>
        torch.randint(3, vocab, [batch, length], generator: new torch.Generator((ulong)seed));

    void AssertClose(Tensor expected, Tensor actual, double tolerance, string what)
    {
        double diff = TestModels.MaxAbsDiff(expected, actual);
        output.WriteLine($"{what}: max abs diff {diff:E2} (tolerance {tolerance:E0})");
        Assert.True(diff < tolerance, $"{what}: max abs diff {diff:E3} exceeds {tolerance:E0}");
    }

    [Theory]
    [InlineData("llama", null)]
    [InlineData("qwen2", null)]
    [InlineData("qwen3", null)]
    [InlineData("mistral", 4)]
    [InlineData("phi3", 4)]
    [InlineData("gemma", null)]
    [InlineData("gemma2", 4)]
    [InlineData("gemma3_text", 4)]
    [InlineData("starcoder2", 4)]
    public void CachedIncrementalDecodingEqualsFullForward(string type, int? window)
    {
        using var model = TestModels.Random(TestModels.Tiny(type, window));
        using var ids = Ids(2, 10, model.Config.VocabSize, 1);
        using var full = model.Forward(ids);
        using var cache = model.CreateCache(2, capacity: 4); // small on purpose: growth is exercised
        // A 4-token prefill, a 3-token chunk on top of the cache, then one token at a time.
        var pieces = new List<Tensor> { model.Forward(ids.narrow(1, 0, 4), cache: cache), model.Forward(ids.narrow(1, 4, 3), cache: cache) };
        for (int i = 7; i < 10; i++) pieces.Add(model.Forward(ids.narrow(1, i, 1), cache: cache));
        using var incremental = torch.cat(pieces, 1);
        Assert.Equal(10, cache.Length);
        AssertClose(full, incremental, Float32Tolerance, $"{type} cached vs full");
    }

    [Theory]
    [InlineData("qwen3")]
    [InlineData("gemma2")]
    [InlineData("gemma3_text")]
    [InlineData("starcoder2")]
    public void LeftPaddedBatchEqualsEachSequenceAlone(string type)
    {
        using var model = TestModels.Random(TestModels.Tiny(type, type == "qwen3" ? null : 5));
        int[] lengths = [7, 4, 9];
        int max = lengths.Max();
        var rows = lengths.Select((n, i) => Ids(1, n, model.Config.VocabSize, 10 + i)).ToArray();
        using var batch = torch.zeros(lengths.Length, max, ScalarType.Int64);
        using var mask = torch.zeros(lengths.Length, max, ScalarType.Int64);
        for (int i = 0; i < rows.Length; i++)
        {
            batch[i].narrow(0, max - lengths[i], lengths[i]).copy_(rows[i][0]);
            mask[i].narrow(0, max - lengths[i], lengths[i]).fill_(1);
        }
        using var cache = model.CreateCache(lengths.Length, max + 3);
        using var batched = model.Forward(batch, mask, cache);
        var next = Ids(lengths.Length, 3, model.Config.VocabSize, 99);
        var steps = Enumerable.Range(0, 3).Select(s => model.Forward(next.narrow(1, s, 1), cache: cache)).ToArray();
        for (int i = 0; i < rows.Length; i++)
        {
            using var alone = model.Forward(rows[i]);
            using var real = batched[i].narrow(0, max - lengths[i], lengths[i]).unsqueeze(0);
            AssertClose(alone, real, Float32Tolerance, $"row {i} prefill");
            // Decoding after a padded prefill continues each row as if it had been alone.
            using var aloneMore = model.Forward(torch.cat([rows[i], next[i].unsqueeze(0)], 1));
            for (int s = 0; s < 3; s++)
                AssertClose(aloneMore[0, lengths[i] + s], steps[s][i, 0], Float32Tolerance, $"row {i} decode step {s}");
        }
    }

    [Fact]
    public void BFloat16AndFloat32ComputeAgree()
    {
        var config = TestModels.Tiny("llama");
        using var f32 = TestModels.Random(config, ScalarType.Float32);
        using var bf16 = TestModels.Random(config, ScalarType.BFloat16);
        using var ids = Ids(2, 16, config.VocabSize, 3);
        using var a = f32.Forward(ids);
        using var b = bf16.Forward(ids);
        // Same weights rounded to bf16 plus bf16 activations (8 mantissa bits): the logits agree to
        // within 15% of their spread.
        double spread = a.std().item<float>();
        AssertClose(a, b, 0.15 * spread, $"bf16 vs f32 logits (std {spread:F2})");
        using var agree = a.argmax(-1).eq(b.argmax(-1)).to(ScalarType.Float32).mean();
        Assert.True(agree.item<float>() >= 0.9f);
    }

    [Fact]
    public void LastPositionAndVocabSubsetAreSlicesOfTheFullLogits()
    {
        using var model = TestModels.Random(TestModels.Tiny("llama", tied: true));
        using var ids = Ids(3, 6, model.Config.VocabSize, 4);
        using var full = model.Forward(ids);
        using var last = model.Forward(ids, positions: LogitPositions.Last);
        Assert.Equal(new long[] { 3, 1, model.Config.VocabSize }, last.shape);
        AssertClose(full.narrow(1, 5, 1), last, 1e-5, "last position");
        using var subset = torch.tensor(new long[] { 17, 3, 42 });
        using var picked = model.Forward(ids, positions: LogitPositions.Last, vocabSubset: subset);
        Assert.Equal(new long[] { 3, 1, 3 }, picked.shape);
        AssertClose(last.index_select(2, subset), picked, 1e-5, "vocab subset");
    }

    [Fact]
    public void RepeatedAndSelectedCacheRowsContinueLikeTheirSource()
    {
        using var model = TestModels.Random(TestModels.Tiny("llama"));
        using var prompt = Ids(2, 5, model.Config.VocabSize, 5);
        using var cache = model.CreateCache(2, 8);
        using (model.Forward(prompt, cache: cache)) { }
        cache.RepeatRows(2); // rows: p0, p0, p1, p1
        Assert.Equal(4, cache.BatchSize);
        using var token = Ids(4, 1, model.Config.VocabSize, 6);
        using var step = model.Forward(token, cache: cache);
        for (int r = 0; r < 4; r++)
        {
            using var alone = model.Forward(torch.cat([prompt[r / 2].unsqueeze(0), token[r].unsqueeze(0)], 1), positions: LogitPositions.Last);
            AssertClose(alone[0], step[r], Float32Tolerance, $"repeated row {r}");
        }
        cache.SelectRows(torch.tensor(new long[] { 3, 0 }));
        using var next = Ids(2, 1, model.Config.VocabSize, 7);
        using var kept = model.Forward(next, cache: cache);
        using var alone3 = model.Forward(torch.cat([prompt[1].unsqueeze(0), token[3].unsqueeze(0), next[0].unsqueeze(0)], 1), positions: LogitPositions.Last);
        AssertClose(alone3[0], kept[0], Float32Tolerance, "selected row");
    }
}
