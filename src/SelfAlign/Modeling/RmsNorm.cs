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
        var dtype = x.dtype;
        using var x32 = x.to(ScalarType.Float32);
        using var variance = x32.pow(2).mean([-1], keepdim: true);
        using var scale = variance.add_(eps).rsqrt_();
        using var normed = x32.mul(scale);
        using var cast = normed.to(dtype);
        return cast.mul(weight);
    }
}
