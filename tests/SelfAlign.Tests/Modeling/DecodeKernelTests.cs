using SelfAlign.Modeling;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace SelfAlign.Tests.Modeling;

/// <summary>
/// The one-row bf16 decode kernel against libtorch's decode step and the uncached forward pass of
/// the same bf16 model: equal up to bf16 rounding (summation order differs), same greedy tokens.
/// </summary>
public sealed class DecodeKernelTests(ITestOutputHelper output)
{
    // A Llama-style shape the kernel takes: head_dim 32, grouped KV heads.
    static ModelConfig Config(bool tied = false, string? ropeScaling = null)
    {
        var json = new System.Text.Json.Nodes.JsonObject
        {
            ["model_type"] = "llama", ["hidden_size"] = 128, ["num_hidden_layers"] = 2, ["num_attention_heads"] = 4,
            ["num_key_value_heads"] = 2, ["head_dim"] = 32, ["intermediate_size"] = 160, ["vocab_size"] = 96,
            ["rms_norm_eps"] = 1e-5, ["tie_word_embeddings"] = tied,
        };
        if (ropeScaling == "llama3")
            json["rope_scaling"] = new System.Text.Json.Nodes.JsonObject
            {
                ["rope_type"] = "llama3", ["factor"] = 8.0, ["low_freq_factor"] = 1.0, ["high_freq_factor"] = 4.0,
                ["original_max_position_embeddings"] = 8,
            };
        return ModelConfig.Parse(json, "config.json");
    }

    static Tensor Ids(int length, int seed) => torch.randint(3, 96, [1, length], generator: new torch.Generator((ulong)seed));

    // bf16 logits span a few units here; one bf16 ulp at 4 is 0.03, and rounding differences compound over layers.
    void AssertClose(Tensor expected, Tensor actual, string what, double? spreadOfAll = null)
    {
        double diff = TestModels.MaxAbsDiff(expected, actual);
        using var spread = expected.to(ScalarType.Float32).std();
        double tolerance = 0.08 * (spreadOfAll ?? spread.item<float>());
        output.WriteLine($"{what}: max abs diff {diff:E2} (tolerance {tolerance:E2})");
        Assert.True(diff < tolerance, $"{what}: max abs diff {diff:E3} exceeds {tolerance:E2}");
    }

    [Theory]
    [InlineData(false, null)]
    [InlineData(true, null)]
    [InlineData(false, "llama3")]
    public void KernelStepsEqualLibtorchStepsAndTheFullForward(bool tied, string? ropeScaling)
    {
        using var noGrad = torch.no_grad();
        using var model = TestModels.Random(Config(tied, ropeScaling), ScalarType.BFloat16);
        Assert.True(DecodeKernel.Supports(model, 1));
        using var ids = Ids(16, 5);
        using var full = model.Forward(ids);
        using var fast = model.CreateCache(1, 4);   // small: growth during decoding is exercised
        using var plain = model.CreateCache(1, 4);
        using (model.Forward(ids.narrow(1, 0, 6), cache: fast)) { }
        model.FastDecode = false;
        using (model.Forward(ids.narrow(1, 0, 6), cache: plain)) { }
        for (int i = 6; i < 16; i++)
        {
            var token = ids.narrow(1, i, 1);
            model.FastDecode = true;
            using var kernel = model.Forward(token, cache: fast);
            model.FastDecode = false;
            using var libtorch = model.Forward(token, cache: plain);
            AssertClose(libtorch, kernel, $"step {i} kernel vs libtorch");
            AssertClose(full.narrow(1, i, 1), kernel, $"step {i} kernel vs full forward");
            // Greedy picks agree unless the top logits are closer than the paths' difference.
            long pick = kernel.argmax(-1).item<long>();
            using var best = libtorch.max();
            Assert.True(best.item<float>() - libtorch[0, 0, pick].item<float>() <= TestModels.MaxAbsDiff(libtorch, kernel) * 2,
                $"step {i}: the kernel picks {pick}, far from libtorch's best");
        }
        Assert.Equal(16, fast.Length);
        using var positions = fast.NextPosition.clone();
        Assert.Equal(16, positions.item<long>());
    }

    [Fact]
    public void KernelSkipsPaddingAndProjectsOntoASubset()
    {
        using var noGrad = torch.no_grad();
        using var model = TestModels.Random(Config(), ScalarType.BFloat16);
        using var ids = Ids(9, 11);
        using var padded = torch.cat([torch.zeros(1, 3, ScalarType.Int64), ids.narrow(1, 0, 8)], 1);
        using var mask = torch.cat([torch.zeros(1, 3, ScalarType.Int64), torch.ones(1, 8, ScalarType.Int64)], 1);
        using var cache = model.CreateCache(1, 16);
        using (model.Forward(padded, mask, cache)) { }
        Assert.True(cache.HasPadding);
        using var subset = torch.tensor(new long[] { 5, 17, 40 });
        using var kernel = model.Forward(ids.narrow(1, 8, 1), cache: cache, vocabSubset: subset);
        // The left-padded row continues as the unpadded sequence alone.
        using var alone = model.Forward(ids);
        using var last = alone.narrow(1, 8, 1);
        using var expected = last.index_select(2, subset);
        using var spread = last.std();
        AssertClose(expected, kernel, "padded kernel step vs unpadded full forward, label subset", spread.item<float>());
    }

    [Fact]
    public void OtherwiseTheLibtorchPathRuns()
    {
        using var noGrad = torch.no_grad();
        using var bf16 = TestModels.Random(Config(), ScalarType.BFloat16);
        using var f32 = TestModels.Random(Config());
        using var qwen3 = TestModels.Random(TestModels.Tiny("qwen3"), ScalarType.BFloat16);
        Assert.False(DecodeKernel.Supports(bf16, 2));
        Assert.False(DecodeKernel.Supports(f32, 1));
        Assert.False(DecodeKernel.Supports(qwen3, 1));
        using (torch.enable_grad()) Assert.False(DecodeKernel.Supports(bf16, 1));
    }
}
