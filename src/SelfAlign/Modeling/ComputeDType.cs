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
    // twice as slow as f32's; emulated bf16 is tens of times slower, far from the cut. Each product
    // is 128x512 by 512x512 (67 MFLOP), large enough to use the vector kernels and every thread.
    // On a busy machine one timing can stall for tens of milliseconds, so the two dtypes are timed
    // in alternation and each keeps its fastest run: a stall has to hit every f32 run to flip the choice.
    static ScalarType Probe()
    {
        using var scope = NewDisposeScope();
        var operands = new[] { ScalarType.BFloat16, ScalarType.Float32 }.Select(d => (A: ones(128, 512, d), B: ones(512, 512, d))).ToArray();
        var best = new[] { double.MaxValue, double.MaxValue };
        for (int round = 0; round < 5; round++)
            for (int k = 0; k < 2; k++)
            {
                var clock = Stopwatch.StartNew();
                operands[k].A.matmul(operands[k].B).Dispose();
                if (round > 0) best[k] = Math.Min(best[k], clock.Elapsed.TotalSeconds);   // the first round pays for allocation
            }
        return best[0] <= 2 * best[1] ? ScalarType.BFloat16 : ScalarType.Float32;
    }
}
