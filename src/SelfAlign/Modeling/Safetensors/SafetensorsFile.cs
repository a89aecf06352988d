using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Win32.SafeHandles;
using TorchSharp;
using static TorchSharp.torch;

namespace SelfAlign.Modeling.Safetensors;

/// <summary>Where one tensor lies in a safetensors file.</summary>
/// <param name="Name">The tensor's name, as the header spells it.</param>
/// <param name="DType">Its element type.</param>
/// <param name="Shape">Its shape.</param>
/// <param name="Offset">Absolute byte offset of its data in the file.</param>
/// <param name="ByteLength">Length of its data in bytes.</param>
public sealed record TensorEntry(string Name, ScalarType DType, long[] Shape, long Offset, long ByteLength);

/// <summary>
/// One <c>.safetensors</c> file opened for reading. The header is parsed and checked up front
/// (offsets, sizes, dtypes); tensor data is read on demand straight into the destination tensor,
/// so loading never holds a second copy of the weights.
/// </summary>
public sealed class SafetensorsFile : IDisposable
{
    const long MaxHeaderBytes = 100_000_000;
    readonly SafeFileHandle _handle;

    SafetensorsFile(string path, SafeFileHandle handle, IReadOnlyDictionary<string, TensorEntry> tensors,
        IReadOnlyDictionary<string, string> metadata)
    {
        Path = path;
        _handle = handle;
        Tensors = tensors;
        Metadata = metadata;
    }

    /// <summary>The file's path.</summary>
    public string Path { get; }
    /// <summary>The tensors in the file, by name.</summary>
    public IReadOnlyDictionary<string, TensorEntry> Tensors { get; }
    /// <summary>The header's <c>__metadata__</c> strings.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Opens a file and validates its header against its length.</summary>
    public static SafetensorsFile Open(string path)
    {
        if (!File.Exists(path)) throw new ModelFormatException(path, "file not found");
        var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        try
        {
            var (tensors, metadata) = ReadHeader(handle, path);
            return new SafetensorsFile(path, handle, tensors, metadata);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Reads a tensor into a new CPU tensor of its stored dtype, bit for bit.</summary>
    public Tensor Read(string name)
    {
        if (!Tensors.TryGetValue(name, out var entry))
            throw new ModelFormatException(Path, $"no tensor named '{name}'");
        var tensor = torch.empty(entry.Shape, entry.DType, torch.CPU);
        try
        {
            NativeTensor.ReadFrom(tensor, _handle, entry.Offset, Path);
            return tensor;
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public void Dispose() => _handle.Dispose();

    static (Dictionary<string, TensorEntry>, Dictionary<string, string>) ReadHeader(SafeFileHandle handle, string path)
    {
        long fileLength = RandomAccess.GetLength(handle);
        if (fileLength < 8) throw new ModelFormatException(path, $"truncated: {fileLength} bytes, too short for a safetensors header");
        Span<byte> sizeBytes = stackalloc byte[8];
        RandomAccess.Read(handle, sizeBytes, 0);
        long headerSize = (long)BinaryPrimitives.ReadUInt64LittleEndian(sizeBytes);
        if (headerSize > MaxHeaderBytes || 8 + headerSize > fileLength)
            throw new ModelFormatException(path, $"corrupt or truncated: header claims {headerSize} bytes, file has {fileLength}");
        var headerBytes = new byte[headerSize];
        RandomAccess.Read(handle, headerBytes, 8);

        JsonObject header;
        try
        {
            header = JsonNode.Parse(Encoding.UTF8.GetString(headerBytes)) as JsonObject
                ?? throw new ModelFormatException(path, "corrupt header: not a JSON object");
        }
        catch (JsonException e)
        {
            throw new ModelFormatException(path, $"corrupt header: {e.Message}", e);
        }

        long dataStart = 8 + headerSize;
        long dataLength = fileLength - dataStart;
        var tensors = new Dictionary<string, TensorEntry>();
        var metadata = new Dictionary<string, string>();
        long coveredEnd = 0;
        foreach (var (name, node) in header.OrderBy(p => OffsetOf(p.Value)))
        {
            if (name == "__metadata__")
            {
                foreach (var (k, v) in node as JsonObject ?? [])
                    metadata[k] = v?.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : v?.ToJsonString() ?? "";
                continue;
            }
            var entry = ParseEntry(name, node, path, dataStart, dataLength);
            if (entry.Offset - dataStart < coveredEnd)
                throw new ModelFormatException(path, $"tensor '{name}': data overlaps the previous tensor");
            coveredEnd = entry.Offset - dataStart + entry.ByteLength;
            tensors[name] = entry;
        }
        return (tensors, metadata);
    }

    static long OffsetOf(JsonNode? node) =>
        node is JsonObject o && o["data_offsets"] is JsonArray { Count: 2 } a && a[0] is JsonValue v && v.TryGetValue<long>(out long x) ? x : -1;

    static TensorEntry ParseEntry(string name, JsonNode? node, string path, long dataStart, long dataLength)
    {
        ModelFormatException Bad(string why) => new(path, $"tensor '{name}': {why}");
        if (node is not JsonObject o) throw Bad("header entry is not an object");
        string dtypeName = o["dtype"]?.GetValueKind() == JsonValueKind.String ? o["dtype"]!.GetValue<string>() : throw Bad("missing field 'dtype'");
        ScalarType dtype = SafetensorsDType.Parse(dtypeName) ?? throw Bad($"unsupported dtype '{dtypeName}'");
        if (o["shape"] is not JsonArray shapeNode) throw Bad("missing field 'shape'");
        long[] shape = shapeNode.Select(d => d is JsonValue v && v.TryGetValue<long>(out long x) && x >= 0 ? x : throw Bad("invalid shape")).ToArray();
        if (o["data_offsets"] is not JsonArray { Count: 2 } offsets) throw Bad("missing field 'data_offsets'");
        long begin = offsets[0] is JsonValue b && b.TryGetValue<long>(out long bx) ? bx : throw Bad("invalid data_offsets");
        long end = offsets[1] is JsonValue e && e.TryGetValue<long>(out long ex) ? ex : throw Bad("invalid data_offsets");
        long expected = shape.Aggregate(1L, (a, d) => a * d) * SafetensorsDType.Size(dtype);
        if (end - begin != expected)
            throw Bad($"data_offsets span {end - begin} bytes but shape [{string.Join(", ", shape)}] of {dtypeName} needs {expected}");
        if (begin < 0 || end > dataLength)
            throw new ModelFormatException(path, $"truncated or corrupt: tensor '{name}' ends at byte {dataStart + end} of a {dataStart + dataLength}-byte file");
        return new TensorEntry(name, dtype, shape, dataStart + begin, end - begin);
    }
}
