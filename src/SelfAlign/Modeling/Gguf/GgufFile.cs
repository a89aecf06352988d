using System.Text;

namespace SelfAlign.Modeling.Gguf;

/// <summary>The ggml tensor types a GGUF file written here can hold.</summary>
internal enum GgmlType : uint
{
    /// <summary>32-bit float.</summary>
    F32 = 0,
    /// <summary>Blocks of 32 weights: one fp16 scale and 32 signed bytes (34 bytes).</summary>
    Q8_0 = 8,
    /// <summary>bfloat16.</summary>
    BF16 = 30,
}

/// <summary>
/// Writes a GGUF file (version 3, little-endian): a header, typed metadata, the tensor directory
/// and the tensor data, each tensor aligned to 32 bytes, as llama.cpp's loader reads them.
/// Values are buffered; <see cref="WriteTo"/> writes the whole file in one pass.
/// </summary>
internal sealed class GgufFile
{
    const uint Alignment = 32;
    readonly List<(string Key, Action<BinaryWriter> Write)> _metadata = [];
    readonly List<(string Name, long[] Shape, GgmlType Type, byte[] Data)> _tensors = [];

    // Metadata value types of the GGUF specification.
    enum ValueType : uint { UInt32 = 4, Int32 = 5, Float32 = 6, Bool = 7, String = 8, Array = 9 }

    /// <summary>Adds a uint32 value.</summary>
    public void Add(string key, uint value) => _metadata.Add((key, w => { w.Write((uint)ValueType.UInt32); w.Write(value); }));
    /// <summary>Adds a float32 value.</summary>
    public void Add(string key, float value) => _metadata.Add((key, w => { w.Write((uint)ValueType.Float32); w.Write(value); }));
    /// <summary>Adds a bool value.</summary>
    public void Add(string key, bool value) => _metadata.Add((key, w => { w.Write((uint)ValueType.Bool); w.Write(value); }));
    /// <summary>Adds a string value.</summary>
    public void Add(string key, string value) => _metadata.Add((key, w => { w.Write((uint)ValueType.String); WriteString(w, value); }));

    /// <summary>Adds an array of strings.</summary>
    public void Add(string key, IReadOnlyList<string> values) => _metadata.Add((key, w =>
    {
        w.Write((uint)ValueType.Array);
        w.Write((uint)ValueType.String);
        w.Write((ulong)values.Count);
        foreach (var v in values) WriteString(w, v);
    }));

    /// <summary>Adds an array of int32 values.</summary>
    public void Add(string key, IReadOnlyList<int> values) => _metadata.Add((key, w =>
    {
        w.Write((uint)ValueType.Array);
        w.Write((uint)ValueType.Int32);
        w.Write((ulong)values.Count);
        foreach (var v in values) w.Write(v);
    }));

    /// <summary>
    /// Adds a tensor. <paramref name="shape"/> is row-major as PyTorch writes it ([rows, columns]);
    /// the file stores it reversed, innermost first, as ggml does.
    /// </summary>
    public void AddTensor(string name, long[] shape, GgmlType type, byte[] data) => _tensors.Add((name, shape, type, data));

    /// <summary>Writes the file to <paramref name="stream"/>.</summary>
    public void WriteTo(Stream stream)
    {
        using var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        w.Write("GGUF"u8);
        w.Write(3u);
        w.Write((ulong)_tensors.Count);
        w.Write((ulong)_metadata.Count);
        foreach (var (key, write) in _metadata)
        {
            WriteString(w, key);
            write(w);
        }
        ulong offset = 0;
        foreach (var (name, shape, type, data) in _tensors)
        {
            WriteString(w, name);
            w.Write((uint)shape.Length);
            for (int i = shape.Length - 1; i >= 0; i--) w.Write((ulong)shape[i]);
            w.Write((uint)type);
            w.Write(offset);
            offset = Align(offset + (ulong)data.Length);
        }
        Pad(w);
        long start = w.BaseStream.Position;
        foreach (var (_, _, _, data) in _tensors)
        {
            w.Write(data);
            long written = w.BaseStream.Position - start;
            w.Write(new byte[(int)(Align((ulong)written) - (ulong)written)]);
        }
    }

    static ulong Align(ulong n) => (n + Alignment - 1) / Alignment * Alignment;

    static void Pad(BinaryWriter w)
    {
        long position = w.BaseStream.Position;
        w.Write(new byte[(int)((long)Align((ulong)position) - position)]);
    }

    static void WriteString(BinaryWriter w, string s)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        w.Write((ulong)bytes.Length);
        w.Write(bytes);
    }
}
