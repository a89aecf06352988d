using TorchSharp;
using static TorchSharp.torch;

namespace SelfAlign.Modeling;

/// <summary>One pre-norm transformer block: x + attn(norm(x)), then x + mlp(norm(x)).</summary>
internal sealed class DecoderLayer(Attention attention, Mlp mlp, Tensor inputNorm, Tensor postAttentionNorm, double eps) : IDisposable
{
    public Attention Attention { get; } = attention;
    public Mlp Mlp { get; } = mlp;
    public Tensor InputNorm { get; } = inputNorm;
    public Tensor PostAttentionNorm { get; } = postAttentionNorm;

    // Each block frees its temporaries as it ends, so a forward pass holds one block's activations at a time.
    // No operation here writes in place into a tensor autograd may have saved, so the block trains as it infers.
    public Tensor Forward(Tensor x, AttentionContext ctx, int index, KvCache? cache)
    {
        using var scope = torch.NewDisposeScope();
        var attended = x.add(Attention.Forward(RmsNorm.Apply(x, InputNorm, eps), ctx, index, cache), Scalars.One);
        return attended.add(Mlp.Forward(RmsNorm.Apply(attended, PostAttentionNorm, eps), ctx.Lora, index), Scalars.One).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        Attention.Dispose();
        Mlp.Dispose();
        InputNorm.Dispose();
        PostAttentionNorm.Dispose();
    }
}
