using TorchSharp;
using static TorchSharp.torch;

namespace SelfAlign.Modeling;

/// <summary>
/// Rotary position embedding in the "rotate half" layout of Hugging Face checkpoints, with the
/// <c>linear</c>, <c>llama3</c> and <c>longrope</c> frequency scalings, over the whole head or
/// (partial rotary) its first <see cref="ModelConfig.RotaryDim"/> dimensions.
/// </summary>
internal sealed class RotaryEmbedding : IDisposable
{
    readonly Tensor _invFreq;
    // longrope: the frequencies for sequences longer than the original context, and the scale of cos and sin.
    readonly Tensor? _longInvFreq;
    readonly int _original;
    readonly double _attentionFactor = 1;
    readonly int _headDim;
    readonly int _rotaryDim;

    public RotaryEmbedding(ModelConfig config, Device device)
    {
        _headDim = config.HeadDim;
        _rotaryDim = config.RotaryDim;
        using var cpu = InverseFrequencies(config);
        _invFreq = cpu.to(device);
        if (config.RopeScaling is { Type: "longrope" } s)
        {
            using var longCpu = InverseFrequencies(config, longContext: true);
            _longInvFreq = longCpu.to(device);
            _original = s.OriginalMaxPositionEmbeddings;
            _attentionFactor = s.AttentionFactor;
        }
    }

    /// <summary>The frequencies of sequences within the original context, [rotary_dim / 2], as floats.</summary>
    public float[] Frequencies() => _invFreq.cpu().data<float>().ToArray();

    /// <summary>
    /// The per-pair rotation frequencies [rotary_dim / 2], float32, computed in float32 as the reference does;
    /// <paramref name="longContext"/> picks longrope's long factors.
    /// </summary>
    public static Tensor InverseFrequencies(ModelConfig config, bool longContext = false)
    {
        int d = config.RotaryDim;
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
                "longrope" => LongRope(power, longContext ? s.LongFactor! : s.ShortFactor!),
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

    // Each frequency divided by its own factor: 1 / (factor * theta^(2i/d)), as the reference computes it.
    static Tensor LongRope(Tensor power, IReadOnlyList<double> factors)
    {
        using var ext = torch.tensor(factors.Select(f => (float)f).ToArray());
        using var scaled = ext.mul(power);
        return scaled.reciprocal();
    }

    /// <summary>
    /// The cos and signed sin tables for positions [batch, seq], shaped [batch, 1, seq, rotary_dim]
    /// in <paramref name="dtype"/>. The sin table carries the sign of "rotate half" so that
    /// applying it needs one roll instead of a split, a negation and a concatenation.
    /// </summary>
    public (Tensor Cos, Tensor SinSigned) Tables(Tensor positions, ScalarType dtype)
    {
        using var scope = torch.NewDisposeScope();
        // longrope switches to its long factors once the sequence (the furthest position + 1) outgrows the original context.
        var invFreq = _longInvFreq is not null && positions.max().item<long>() + 1 > _original ? _longInvFreq : _invFreq;
        var freqs = positions.to(ScalarType.Float32).unsqueeze(-1).mul(invFreq);
        var angles = torch.cat([freqs, freqs], -1).unsqueeze(1);
        var cos = angles.cos();
        var sin = angles.sin();
        if (_attentionFactor != 1)
        {
            cos = cos.mul(Scalars.Of(_attentionFactor));
            sin = sin.mul(Scalars.Of(_attentionFactor));
        }
        cos = cos.to(dtype);
        sin = sin.to(dtype);
        int half = _rotaryDim / 2;
        var sinSigned = torch.cat([sin.narrow(-1, 0, half).neg(), sin.narrow(-1, half, half)], -1);
        return (cos.MoveToOuterDisposeScope(), sinSigned.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// x * cos + rotate_half(x) * sin, with rotate_half(x) * sin == roll(x) * sinSigned exactly; with
    /// partial rotary, on the first rotary_dim dimensions while the rest pass through.
    /// </summary>
    public Tensor Apply(Tensor x, Tensor cos, Tensor sinSigned)
    {
        if (_rotaryDim == _headDim) return Rotate(x, cos, sinSigned);
        using var rotary = x.narrow(-1, 0, _rotaryDim);
        using var rotated = Rotate(rotary, cos, sinSigned);
        using var pass = x.narrow(-1, _rotaryDim, _headDim - _rotaryDim);
        return torch.cat([rotated, pass], -1);
    }

    Tensor Rotate(Tensor x, Tensor cos, Tensor sinSigned)
    {
        using var rotated = x.roll(_rotaryDim / 2, -1);
        using var a = x.mul(cos);
        using var b = rotated.mul_(sinSigned);
        return a.add(b, Scalars.One);
    }

    public void Dispose()
    {
        _invFreq.Dispose();
        _longInvFreq?.Dispose();
    }
}
