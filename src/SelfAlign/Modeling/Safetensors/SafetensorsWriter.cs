using System.Buffers.Binary;
using System.Text.Json.Nodes;
using SelfAlign.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace SelfAlign.Modeling.Safetensors;

/// <summary>Writes <c>.safetensors</c> files in the layout the reference Python library writes.</summary>
public static class SafetensorsWriter
{
    /// <summary>
    /// Writes the tensors, in the given order, to <paramref name="path"/>. The file appears
    /// atomically: it is written beside the target and renamed into place.
    /// </summary>
    public static void Write(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        var list = tensors.ToList();
        var header = new JsonObject();
        if (metadata is { Count: > 0 })
            header["__metadata__"] = new JsonObject(metadata.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value)));
        long offset = 0;
        foreach (var (name, t) in list)
        {
            long bytes = t.numel() * SafetensorsDType.Size(t.dtype);
            header[name] = new JsonObject
            {
                ["dtype"] = SafetensorsDType.Name(t.dtype),
                ["shape"] = new JsonArray(t.shape.Select(d => (JsonNode?)d).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + bytes),
            };
            offset += bytes;
        }
        byte[] json = System.Text.Encoding.UTF8.GetBytes(header.ToJsonString());
        // The data section starts 8-byte aligned; the header is padded with spaces as the format allows.
        int padded = (json.Length + 7) / 8 * 8;

        AtomicFile.Write(path, stream =>
        {
            Span<byte> size = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(size, (ulong)padded);
            stream.Write(size);
            stream.Write(json);
            for (int i = json.Length; i < padded; i++) stream.WriteByte((byte)' ');
            foreach (var (_, t) in list)
            {
                using var cpu = t.device_type == DeviceType.CPU && t.is_contiguous() ? t.alias() : t.cpu().contiguous();
                NativeTensor.WriteTo(cpu, stream);
            }
        });
    }
}
