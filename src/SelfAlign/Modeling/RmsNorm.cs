using TorchSharp;
using static TorchSharp.torch;

namespace SelfAlign.Modeling;

/// <summary>Root-mean-square layer norm, computed as Hugging Face's Llama family computes it.</summary>
internal static class RmsNorm
{
    /// <summary>
    /// Normalizes the last dimension in float32, casts back to the input dtype, then scales by
    /// <paramref name="weight"/> (in that order, so bf16 results match the reference bit for bit).
    /// </summary>
    public static Tensor Apply(Tensor x, Tensor weight, double eps)
    {
        using var scope = torch.NewDisposeScope();
        var x32 = x.to(ScalarType.Float32);
        var scale = x32.pow(Scalars.Of(2L)).mean([-1], keepdim: true).add_(Scalars.Of(eps), Scalars.One).rsqrt_();
        return x32.mul(scale).to(x.dtype).mul(weight).MoveToOuterDisposeScope();
    }
}
