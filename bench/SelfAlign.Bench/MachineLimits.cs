using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace SelfAlign.Bench;

/// <summary>The machine's own ceilings, measured in the same run as the benchmarks they scale.</summary>
internal static class MachineLimits
{
    /// <summary>Best matmul rate (FLOP/s) in the benchmarks' dtype over two square sizes; many repeats, since the machine may be shared.</summary>
    public static double MatmulFlops()
    {
        var dtype = BenchModel.DType;
        double best = 0;
        foreach (int n in new[] { 1024, 2048 })
        {
            using var a = torch.randn(n, n).to(dtype);
            using var b = torch.randn(n, n).to(dtype);
            double seconds = Timing.Best(() => { using var c = a.matmul(b); }, repeats: 12);
            best = Math.Max(best, 2.0 * n * n * n / seconds);
        }
        return best;
    }

    /// <summary>Memory bandwidth (bytes read + written per second) of a large tensor copy.</summary>
    public static double CopyBandwidth()
    {
        const long elements = 128L << 20; // 256 MiB of bf16 per side: far beyond the caches.
        using var src = torch.ones(elements, ScalarType.BFloat16);
        using var dst = torch.empty(elements, ScalarType.BFloat16);
        double seconds = Timing.Best(() => dst.copy_(src), repeats: 8);
        return 2.0 * elements * 2 / seconds;
    }
}

/// <summary>Wall-clock helpers.</summary>
internal static class Timing
{
    /// <summary>Fastest of <paramref name="repeats"/> runs after one warm-up, in seconds.</summary>
    public static double Best(Action action, int repeats)
    {
        action();
        double best = double.MaxValue;
        for (int i = 0; i < repeats; i++)
        {
            var sw = Stopwatch.StartNew();
            action();
            best = Math.Min(best, sw.Elapsed.TotalSeconds);
        }
        return best;
    }

    /// <summary>Peak resident set size of this process so far, in bytes.</summary>
    public static long PeakRss()
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmHWM:"))
                return long.Parse(line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        return 0;
    }
}
