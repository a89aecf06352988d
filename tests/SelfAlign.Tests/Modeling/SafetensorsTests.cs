using SelfAlign.Modeling;
using SelfAlign.Modeling.Safetensors;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SelfAlign.Tests.Modeling;

public sealed class SafetensorsTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("selfalign-st-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static readonly ScalarType[] AllDTypes =
    [
        ScalarType.BFloat16, ScalarType.Float16, ScalarType.Float32, ScalarType.Float64,
        ScalarType.Int64, ScalarType.Int32, ScalarType.Int16, ScalarType.Int8, ScalarType.Byte, ScalarType.Bool,
    ];

    static unsafe List<KeyValuePair<string, Tensor>> SampleTensors()
    {
        var random = new Random(42);
        var list = new List<KeyValuePair<string, Tensor>>();
        foreach (var dtype in AllDTypes)
        {
            // Random bit patterns, so every bit of every element is checked (NaN payloads included).
            var t = torch.empty([3, 5], dtype);
            var bytes = new Span<byte>(NativeTensor.Pointer(t), (int)NativeTensor.ByteCount(t));
            random.NextBytes(bytes);
            if (dtype == ScalarType.Bool) foreach (ref byte b in bytes) b &= 1;
            list.Add(KeyValuePair.Create($"model.layers.0.{SafetensorsDType.Name(dtype).ToLowerInvariant()}.weight", t));
        }
        list.Add(KeyValuePair.Create("scalar", torch.tensor(3.5f)));
        list.Add(KeyValuePair.Create("empty", torch.empty(0, 4, ScalarType.Float32)));
        return list;
    }

    static unsafe byte[] Bytes(Tensor t)
    {
        using var c = t.contiguous();
        return new Span<byte>(NativeTensor.Pointer(c), (int)NativeTensor.ByteCount(c)).ToArray();
    }

    [Fact]
    public void SingleFileRoundTripIsBitExactForEveryDType()
    {
        var tensors = SampleTensors();
        string path = Path.Combine(_dir, "model.safetensors");
        SafetensorsWriter.Write(path, tensors, new Dictionary<string, string> { ["format"] = "pt" });
        using var file = SafetensorsFile.Open(path);
        Assert.Equal("pt", file.Metadata["format"]);
        Assert.Equal(tensors.Count, file.Tensors.Count);
        foreach (var (name, expected) in tensors)
        {
            using var actual = file.Read(name);
            Assert.Equal(expected.dtype, actual.dtype);
            Assert.Equal(expected.shape, actual.shape);
            Assert.Equal(Bytes(expected), Bytes(actual));
        }
        // Data starts 8-byte aligned, as the format requires.
        long headerSize = BitConverter.ToInt64(File.ReadAllBytes(path), 0);
        Assert.Equal(0, headerSize % 8);
    }

    [Fact]
    public void ShardedRoundTripWritesIndexAndIsBitExact()
    {
        var tensors = SampleTensors();
        Checkpoint.Write(_dir, tensors, maxShardBytes: 100);
        Assert.True(File.Exists(Path.Combine(_dir, Checkpoint.IndexFile)));
        Assert.False(File.Exists(Path.Combine(_dir, Checkpoint.SingleFile)));
        var shards = Directory.GetFiles(_dir, "model-*-of-*.safetensors");
        Assert.True(shards.Length > 1);
        Assert.Contains(shards, s => Path.GetFileName(s) == $"model-00001-of-{shards.Length:D5}.safetensors");
        using var checkpoint = Checkpoint.Open(_dir);
        foreach (var (name, expected) in tensors)
        {
            using var actual = checkpoint.Read(name);
            Assert.Equal(Bytes(expected), Bytes(actual));
        }
    }

    [Fact]
    public void TruncatedFileIsAClearError()
    {
        string path = Path.Combine(_dir, "model.safetensors");
        SafetensorsWriter.Write(path, SampleTensors());
        byte[] all = File.ReadAllBytes(path);
        File.WriteAllBytes(path, all[..^10]);
        var e = Assert.Throws<ModelFormatException>(() => SafetensorsFile.Open(path));
        Assert.Contains("model.safetensors", e.Message);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void CorruptHeaderIsAClearError()
    {
        string path = Path.Combine(_dir, "model.safetensors");
        SafetensorsWriter.Write(path, SampleTensors());
        byte[] all = File.ReadAllBytes(path);
        all[9] = (byte)'#';
        File.WriteAllBytes(path, all);
        var e = Assert.Throws<ModelFormatException>(() => SafetensorsFile.Open(path));
        Assert.Contains("corrupt header", e.Message);

        File.WriteAllBytes(path, [1, 2, 3]);
        Assert.Contains("too short", Assert.Throws<ModelFormatException>(() => SafetensorsFile.Open(path)).Message);

        File.WriteAllBytes(path, BitConverter.GetBytes(long.MaxValue / 2).Concat(new byte[16]).ToArray());
        Assert.Contains("header claims", Assert.Throws<ModelFormatException>(() => SafetensorsFile.Open(path)).Message);
    }

    [Fact]
    public void ShapeThatDisagreesWithOffsetsIsAnError()
    {
        string path = Path.Combine(_dir, "bad.safetensors");
        string header = """{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}}""";
        using (var f = File.Create(path))
        {
            f.Write(BitConverter.GetBytes((long)header.Length));
            f.Write(System.Text.Encoding.UTF8.GetBytes(header));
            f.Write(new byte[20]);
        }
        var e = Assert.Throws<ModelFormatException>(() => SafetensorsFile.Open(path));
        Assert.Contains("tensor 'w'", e.Message);
        Assert.Contains("needs 24", e.Message);
    }

    [Fact]
    public void IndexNamingAMissingShardIsAnError()
    {
        Checkpoint.Write(_dir, SampleTensors(), maxShardBytes: 100);
        File.Delete(Directory.GetFiles(_dir, "model-00002-*.safetensors").Single());
        var e = Assert.Throws<ModelFormatException>(() => Checkpoint.Open(_dir));
        Assert.Contains(Checkpoint.IndexFile, e.Message);
        Assert.Contains("model-00002-of-", e.Message);
    }
}
