using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace SelfAlign.Modeling;

/// <summary>
/// The dtype the engine computes in, by the names users write. <c>auto</c> is bf16 where this CPU
/// multiplies bf16 matrices natively (AVX-512 BF16, AMX, Arm BF16) and f32 elsewhere: without those
/// instructions libtorch converts element by element and a bf16 matmul runs some 60 times slower
/// than f32 (1.2 against 81 GFLOP/s on an AVX2-only 2-core machine).
/// </summary>
public static class ComputeDType
{
    /// <summary>The names <see cref="Parse"/> accepts, for help texts and errors.</summary>
    public const string Names = "auto, bf16, f32 or f16";

    static readonly Lazy<ScalarType> Probed = new(Probe);

    /// <summary>The dtype <c>auto</c> resolves to on this machine (measured once per process).</summary>
    public static ScalarType Fastest => Probed.Value;

    /// <summary>
    /// Resolves a dtype name (auto, bf16/bfloat16, f32/fp32/float32, f16/fp16/float16); null when the name is none of these.
    /// </summary>
    public static ScalarType? Parse(string name) => name.ToLowerInvariant() switch
    {
        "auto" => Fastest,
        "bf16" or "bfloat16" => ScalarType.BFloat16,
        "f32" or "fp32" or "float32" or "float" => ScalarType.Float32,
        "f16" or "fp16" or "float16" or "half" => ScalarType.Float16,
        _ => null,
    };

    /// <summary>The short name of a compute dtype, as manifests and reports write it.</summary>
    public static string Name(ScalarType dtype) => dtype switch
    {
        ScalarType.BFloat16 => "bf16",
        ScalarType.Float32 => "f32",
        ScalarType.Float16 => "f16",
        _ => dtype.ToString(),
    };

    // bf16 halves the bytes every decode step reads, so it wins unless its matmul is more than
    // twice as slow as f32's; emulated bf16 is tens of times slower, far from the cut.
    static ScalarType Probe()
    {
        double bf16 = MatmulSeconds(ScalarType.BFloat16), f32 = MatmulSeconds(ScalarType.Float32);
        return bf16 <= 2 * f32 ? ScalarType.BFloat16 : ScalarType.Float32;
    }

    // A 128x512 by 512x512 product (67 MFLOP): large enough to use the vector kernels and every
    // thread; where bf16 is emulated the whole probe takes about 0.2 s.
    static double MatmulSeconds(ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var a = ones(128, 512, dtype);
        var b = ones(512, 512, dtype);
        double best = double.MaxValue;
        for (int i = 0; i < 3; i++)
        {
            var clock = Stopwatch.StartNew();
            a.matmul(b).Dispose();
            if (i > 0) best = Math.Min(best, clock.Elapsed.TotalSeconds);   // the first run pays for allocation
        }
        return best;
    }
}
