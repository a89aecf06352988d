using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace SelfAlign.Modeling;

/// <summary>Raw access to the bytes of contiguous CPU tensors, for file I/O without extra copies.</summary>
internal static unsafe class NativeTensor
{
    [DllImport("LibTorchSharp")]
    static extern IntPtr THSTensor_data(IntPtr handle);

    /// <summary>Size in bytes of the tensor's elements.</summary>
    public static long ByteCount(Tensor t) => t.numel() * t.ElementSize;

    /// <summary>The address of the first element; the tensor must be a contiguous CPU tensor.</summary>
    public static byte* Pointer(Tensor t)
    {
        if (t.device_type != DeviceType.CPU || !t.is_contiguous())
            throw new ArgumentException("raw access needs a contiguous CPU tensor", nameof(t));
        IntPtr p = THSTensor_data(t.Handle);
        if (p == IntPtr.Zero && t.numel() > 0) torch.CheckForErrors();
        return (byte*)p;
    }

    /// <summary>
    /// The elements of a tensor as an array, copied in one block (TorchSharp's element accessor
    /// copies one value at a time: about 9 ms for a batch of 32 vocabulary-sized float rows).
    /// </summary>
    /// <param name="t">A float32 (float), float64 (double) or int64 (long) tensor.</param>
    /// <param name="reuse">An array to fill instead of a new one, used when its length fits.</param>
    public static T[] ToArray<T>(Tensor t, T[]? reuse = null) where T : unmanaged
    {
        var expected = default(T) switch { float => ScalarType.Float32, double => ScalarType.Float64, long => ScalarType.Int64, _ => (ScalarType?)null };
        if (t.dtype != expected) throw new ArgumentException($"a {t.dtype} tensor does not hold {typeof(T).Name} elements", nameof(t));
        using var dense = t.device_type == DeviceType.CPU && t.is_contiguous() ? t.alias() : t.cpu().contiguous();
        var values = reuse?.Length == dense.numel() ? reuse : new T[dense.numel()];
        new ReadOnlySpan<T>(Pointer(dense), values.Length).CopyTo(values);
        return values;
    }

    /// <summary>Fills a contiguous CPU tensor from a file region, in chunks (no intermediate buffer).</summary>
    public static void ReadFrom(Tensor t, Microsoft.Win32.SafeHandles.SafeFileHandle file, long offset, string path)
    {
        byte* p = Pointer(t);
        long total = ByteCount(t);
        for (long done = 0; done < total;)
        {
            int chunk = (int)Math.Min(total - done, 1 << 30);
            int n = RandomAccess.Read(file, new Span<byte>(p + done, chunk), offset + done);
            if (n == 0) throw new ModelFormatException(path, $"file ends early: expected {total} bytes at offset {offset}");
            done += n;
        }
    }

    /// <summary>Writes the bytes of a contiguous CPU tensor to a stream.</summary>
    public static void WriteTo(Tensor t, Stream stream)
    {
        byte* p = Pointer(t);
        long total = ByteCount(t);
        for (long done = 0; done < total;)
        {
            int chunk = (int)Math.Min(total - done, 1 << 30);
            stream.Write(new ReadOnlySpan<byte>(p + done, chunk));
            done += chunk;
        }
    }
}
