using TorchSharp;
using static TorchSharp.torch;

namespace SelfAlign.Modeling;

/// <summary>
/// Rotary position embedding in the "rotate half" layout of Hugging Face checkpoints, with the
/// <c>linear</c> and <c>llama3</c> frequency scalings.
/// </summary>
internal sealed class RotaryEmbedding : IDisposable
{
    readonly Tensor _invFreq;
    readonly int _headDim;

    public RotaryEmbedding(ModelConfig config, Device device)
    {
        _headDim = config.HeadDim;
        using var cpu = InverseFrequencies(config);
        _invFreq = cpu.to(device);
    }

    /// <summary>The per-pair rotation frequencies [head_dim / 2], float32, computed in float32 as the reference does.</summary>
    public static Tensor InverseFrequencies(ModelConfig config)
    {
        int d = config.HeadDim;
        using var exponent = torch.arange(Scalars.Of(0L), Scalars.Of(d), Scalars.Of(2L), ScalarType.Int64).to(ScalarType.Float32).div_(Scalars.Of(d));
        using var theta = torch.tensor(config.RopeTheta);
        using var power = torch.pow(theta, exponent);
        var invFreq = power.reciprocal();
        if (config.RopeScaling is not { } s) return invFreq;
        using (invFreq)
        {
            return s.Type switch
            {
                "linear" => invFreq.div(Scalars.Of(s.Factor)),
                "llama3" => Llama3(invFreq, s),
                _ => throw new NotSupportedException($"rope scaling '{s.Type}'"),
            };
        }
    }

    // Long wavelengths are divided by the factor, short ones kept, and the band between blended.
    static Tensor Llama3(Tensor invFreq, RopeScaling s)
    {
        using var scope = torch.NewDisposeScope();
        double original = s.OriginalMaxPositionEmbeddings;
        double lowWavelen = original / s.LowFreqFactor, highWavelen = original / s.HighFreqFactor;
        var factor = Scalars.Of(s.Factor);
        // c / x as TorchSharp's operator computes it (reciprocal, then multiply), so the tables match the reference.
        var wavelen = invFreq.reciprocal().mul(Scalars.Of(2 * Math.PI));
        var scaled = torch.where(wavelen.gt(Scalars.Of(lowWavelen)), invFreq.div(factor), invFreq);
        var smooth = wavelen.reciprocal().mul(Scalars.Of(original)).sub(Scalars.Of(s.LowFreqFactor)).div(Scalars.Of(s.HighFreqFactor - s.LowFreqFactor));
        var smoothed = smooth.sub(Scalars.One).neg().mul(scaled).div(factor).add(smooth.mul(scaled), Scalars.One);
        var medium = wavelen.ge(Scalars.Of(highWavelen)).logical_and(wavelen.le(Scalars.Of(lowWavelen)));
        return torch.where(medium, smoothed, scaled).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The cos and signed sin tables for positions [batch, seq], shaped [batch, 1, seq, head_dim]
    /// in <paramref name="dtype"/>. The sin table carries the sign of "rotate half" so that
    /// applying it needs one roll instead of a split, a negation and a concatenation.
    /// </summary>
    public (Tensor Cos, Tensor SinSigned) Tables(Tensor positions, ScalarType dtype)
    {
        using var scope = torch.NewDisposeScope();
        var freqs = positions.to(ScalarType.Float32).unsqueeze(-1).mul(_invFreq);
        var angles = torch.cat([freqs, freqs], -1).unsqueeze(1);
        var cos = angles.cos().to(dtype);
        var sin = angles.sin().to(dtype);
        int half = _headDim / 2;
        var sinSigned = torch.cat([sin.narrow(-1, 0, half).neg(), sin.narrow(-1, half, half)], -1);
        return (cos.MoveToOuterDisposeScope(), sinSigned.MoveToOuterDisposeScope());
    }

    /// <summary>x * cos + rotate_half(x) * sin, with rotate_half(x) * sin == roll(x) * sinSigned exactly.</summary>
    public Tensor Apply(Tensor x, Tensor cos, Tensor sinSigned)
    {
        using var rotated = x.roll(_headDim / 2, -1);
        using var a = x.mul(cos);
        using var b = rotated.mul_(sinSigned);
        return a.add(b, Scalars.One);
    }

    public void Dispose() => _invFreq.Dispose();
}
