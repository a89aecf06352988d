using SelfAlign.Modeling;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace SelfAlign.Tests.Modeling;

/// <summary>The CPU attention against libtorch's fused kernel, with grouped heads, a cached past and query blocks.</summary>
public sealed class MatmulAttentionTests
{
    [Theory]
    [InlineData(3, 40, 25)]     // queries after a cached past, one block
    [InlineData(1, 2100, 0)]    // a long prompt: its scores exceed the budget and run in query blocks
    public void Equals_fused_attention(int batch, int t, int past)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var generator = new torch.Generator(7);
        int heads = 6, kvHeads = 2, d = 16, keys = past + t;
        var q = randn([batch, heads, t, d], generator: generator);
        var k = randn([batch, kvHeads, keys, d], generator: generator);
        var v = randn([batch, kvHeads, keys, d], generator: generator);
        // Causal, with the first two key slots of row 0 masked as padding.
        var query = arange(past, keys).unsqueeze(1);
        var key = arange(0, keys).unsqueeze(0);
        var allowed = key.le(query).unsqueeze(0).repeat(batch, 1, 1);
        allowed[0, TensorIndex.Colon, TensorIndex.Slice(0, 2)] = tensor(false);
        allowed = allowed.logical_or(key.eq(query).unsqueeze(0)).unsqueeze(1);
        var bias = zeros(allowed.shape).masked_fill_(allowed.logical_not(), double.NegativeInfinity);

        var got = MatmulAttention.Apply(q, k, v, bias, 1 / Math.Sqrt(d));
        var repeat = (Tensor x) => x.repeat_interleave(heads / kvHeads, 1);
        var expected = F.scaled_dot_product_attention(q, repeat(k), repeat(v), allowed);
        Assert.Equal(expected.shape, got.shape);
        Assert.True(got.allclose(expected, rtol: 1e-4, atol: 1e-5), $"largest difference {(got - expected).abs().max().item<float>()}");
    }
}
