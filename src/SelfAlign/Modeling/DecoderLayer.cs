using TorchSharp;
using static TorchSharp.torch;

namespace SelfAlign.Modeling;

/// <summary>
/// One pre-norm transformer block: x + attn(norm(x)), then x + mlp(norm(x)); with Gemma 2's
/// sandwich norms, attention's and the MLP's outputs are normed too before they are added.
/// </summary>
internal sealed class DecoderLayer(Attention attention, Mlp mlp, IReadOnlyDictionary<NormRole, Norm> norms) : IDisposable
{
    public Attention Attention { get; } = attention;
    public Mlp Mlp { get; } = mlp;
    /// <summary>The block's norms by role; <see cref="NormRole.Input"/> and <see cref="NormRole.PreMlp"/> always.</summary>
    public IReadOnlyDictionary<NormRole, Norm> Norms { get; } = norms;

    // Each block frees its temporaries as it ends, so a forward pass holds one block's activations at a time.
    // No operation here writes in place into a tensor autograd may have saved, so the block trains as it infers.
    public Tensor Forward(Tensor x, AttentionContext ctx, int index, KvCache? cache)
    {
        using var scope = torch.NewDisposeScope();
        var attention = Attention.Forward(Norms[NormRole.Input].Apply(x), ctx, index, cache);
        if (Norms.TryGetValue(NormRole.AttentionOutput, out var attentionNorm)) attention = attentionNorm.Apply(attention);
        var attended = x.add(attention, Scalars.One);
        var mlp = Mlp.Forward(Norms[NormRole.PreMlp].Apply(attended), ctx.Lora, index);
        if (Norms.TryGetValue(NormRole.MlpOutput, out var mlpNorm)) mlp = mlpNorm.Apply(mlp);
        return attended.add(mlp, Scalars.One).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        Attention.Dispose();
        Mlp.Dispose();
        foreach (var norm in Norms.Values) norm.Dispose();
    }
}
