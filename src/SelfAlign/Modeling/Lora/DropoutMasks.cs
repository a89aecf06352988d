using System.Runtime.Intrinsics;
using TorchSharp;
using static TorchSharp.torch;

namespace SelfAlign.Modeling.Lora;

/// <summary>
/// Dropout keep-masks from a counter-based generator (SplitMix64 over element indices): each
/// 64-bit draw gives four 16-bit uniforms, and an element is kept when its uniform is at least
/// round(p · 2¹⁶), so the drop rate is p to within 2⁻¹⁷. The masks depend only on the seed and
/// the order in which they are drawn, and are filled with vector instructions; torch's CPU
/// <c>rand</c> draws one value at a time from one sequential stream, which made masks a large
/// share of a LoRA training step.
/// </summary>
internal sealed unsafe class DropoutMasks(ulong seed)
{
    const ulong Golden = 0x9E3779B97F4A7C15UL;
    ulong _drawn;

    /// <summary>A bool tensor shaped <paramref name="shape"/> on <paramref name="device"/>: true where an element is kept (probability 1 − <paramref name="p"/>).</summary>
    public Tensor Next(long[] shape, double p, Device device)
    {
        ulong stream = Mix(seed ^ Mix(++_drawn * Golden));
        var mask = torch.empty(shape, ScalarType.Bool);
        byte* keep = NativeTensor.Pointer(mask);
        long n = mask.numel();
        ushort threshold = (ushort)Math.Min(65535, Math.Round(p * 65536));
        // Word w's four 16-bit quarters, low first, decide elements 4w .. 4w + 3.
        long w = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var lanes = Vector256.Create(0UL, 1, 2, 3) * Golden;
            var limit = Vector256.Create(threshold);
            for (; 4 * w + 32 <= n; w += 8)
            {
                var low = Mix(Vector256.Create(stream + (ulong)w * Golden) + lanes);
                var high = Mix(Vector256.Create(stream + (ulong)(w + 4) * Golden) + lanes);
                var kept = Vector256.Narrow(Vector256.GreaterThanOrEqual(low.AsUInt16(), limit), Vector256.GreaterThanOrEqual(high.AsUInt16(), limit));
                (kept & Vector256<byte>.One).Store(keep + 4 * w);
            }
        }
        for (; 4 * w < n; w++)
        {
            ulong bits = Mix(stream + (ulong)w * Golden);
            for (long i = 4 * w; i < Math.Min(n, 4 * w + 4); i++, bits >>= 16)
                keep[i] = (ushort)bits >= threshold ? (byte)1 : (byte)0;
        }
        return device.type == DeviceType.CPU ? mask : mask.to(device);
    }

    static Vector256<ulong> Mix(Vector256<ulong> z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>SplitMix64's output function.</summary>
    static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
