using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace SelfAlign.Modeling;

/// <summary>One norm of the residual stream: its weight, LayerNorm's bias, and the family's formula.</summary>
internal sealed class Norm(NormKind kind, Tensor weight, Tensor? bias, double eps) : IDisposable
{
    /// <summary>[hidden]: the stored weight (Gemma's is the offset from 1).</summary>
    public Tensor Weight { get; } = weight;
    /// <summary>[hidden]: LayerNorm's bias; null for RMSNorm.</summary>
    public Tensor? Bias { get; } = bias;

    /// <summary>Normalizes the last dimension of <paramref name="x"/>, returned in its dtype.</summary>
    public Tensor Apply(Tensor x) => kind switch
    {
        NormKind.Rms => RmsNorm.Apply(x, Weight, eps),
        NormKind.RmsOffset => RmsNorm.ApplyOffset(x, Weight, eps),
        _ => F.layer_norm(x, [x.shape[^1]], Weight, Bias, eps),
    };

    public void Dispose()
    {
        Weight.Dispose();
        Bias?.Dispose();
    }
}
