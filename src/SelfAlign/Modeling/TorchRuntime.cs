using System.Runtime.InteropServices;
using TorchSharp;

namespace SelfAlign.Modeling;

/// <summary>Process-wide settings of the tensor runtime, applied once at startup.</summary>
public static class TorchRuntime
{
    const int MallocTrimThreshold = -1, MallocMmapThreshold = -3;

    [DllImport("libc", EntryPoint = "mallopt")]
    static extern int Mallopt(int parameter, int value);

    /// <summary>
    /// Sets the CPU thread count and, on glibc, keeps freed activation buffers (up to 32 MiB each)
    /// in the heap instead of returning them to the kernel: libtorch's CPU allocator calls malloc
    /// for every temporary, and by default each megabyte-sized one is a fresh mmap whose pages
    /// fault in again on every forward pass.
    /// </summary>
    public static void Configure(int threads)
    {
        torch.set_num_threads(Math.Max(1, threads));
        if (!OperatingSystem.IsLinux()) return;
        try
        {
            Mallopt(MallocMmapThreshold, 32 << 20);
            Mallopt(MallocTrimThreshold, 256 << 20);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // Not glibc (musl, for one): its allocator keeps its defaults.
        }
    }
}
