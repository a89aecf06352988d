using TorchSharp;
using static TorchSharp.torch;

namespace SelfAlign.Modeling;

/// <summary>Root-mean-square layer norm, computed as Hugging Face's Llama and Gemma families compute it.</summary>
internal static class RmsNorm
{
    /// <summary>
    /// Normalizes the last dimension in float32, casts back to the input dtype, then scales by
    /// <paramref name="weight"/> (in that order, so bf16 results match the reference bit for bit).
    /// </summary>
    public static Tensor Apply(Tensor x, Tensor weight, double eps)
    {
        using var scope = torch.NewDisposeScope();
        return Normalized(x, eps).to(x.dtype).mul(weight).MoveToOuterDisposeScope();
    }

    /// <summary>Gemma's variant: scales by (1 + <paramref name="weight"/>) in float32 and only then casts back.</summary>
    public static Tensor ApplyOffset(Tensor x, Tensor weight, double eps)
    {
        using var scope = torch.NewDisposeScope();
        var scale = weight.to(ScalarType.Float32).add(Scalars.One, Scalars.One);
        return Normalized(x, eps).mul_(scale).to(x.dtype).MoveToOuterDisposeScope();
    }

    static Tensor Normalized(Tensor x, double eps)
    {
        var x32 = x.to(ScalarType.Float32);
        var scale = x32.pow(Scalars.Of(2L)).mean([-1], keepdim: true).add_(Scalars.Of(eps), Scalars.One).rsqrt_();
        return x32.mul(scale);
    }
}
