using static TorchSharp.torch;

namespace SelfAlign.Modeling;

/// <summary>One pre-norm transformer block: x + attn(norm(x)), then x + mlp(norm(x)).</summary>
internal sealed class DecoderLayer(Attention attention, Mlp mlp, Tensor inputNorm, Tensor postAttentionNorm, double eps) : IDisposable
{
    public Attention Attention { get; } = attention;
    public Mlp Mlp { get; } = mlp;
    public Tensor InputNorm { get; } = inputNorm;
    public Tensor PostAttentionNorm { get; } = postAttentionNorm;

    public Tensor Forward(Tensor x, AttentionContext ctx, int index, KvCache? cache)
    {
        Tensor attended;
        using (var normed = RmsNorm.Apply(x, InputNorm, eps))
        using (var a = Attention.Forward(normed, ctx, index, cache))
            attended = x.add(a);
        using (attended)
        using (var normed = RmsNorm.Apply(attended, PostAttentionNorm, eps))
        using (var m = Mlp.Forward(normed))
            return attended.add(m);
    }

    public void Dispose()
    {
        Attention.Dispose();
        Mlp.Dispose();
        InputNorm.Dispose();
        PostAttentionNorm.Dispose();
    }
}
