using System.Text;
using SelfAlign.Modeling;
using SelfAlign.Modeling.Gguf;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SelfAlign.Tests.Modeling;

/// <summary>
/// GGUF files as llama.cpp reads them: the layout read back field by field, Q8_0 blocks against
/// ggml's formula, and an exported Llama's tensors under llama.cpp's names and row order. (The
/// benchmark checks the end result: llama.cpp's logits on an exported model equal SelfAlign's.)
/// </summary>
public sealed class GgufTests
{
    [Fact]
    public void Q8ZeroBlockHoldsTheHalfScaleAndRoundedQuants()
    {
        // max |x| = 63.5, so d = 0.5 exactly and every value k * 0.5 quantizes to k.
        var values = Enumerable.Range(0, 32).Select(i => (i * 4 - 62) * 0.5f).ToArray();
        values[31] = 63.5f;
        var block = Q8Zero.Quantize(values);
        Assert.Equal(Q8Zero.BlockBytes, block.Length);
        Assert.Equal(BitConverter.HalfToUInt16Bits((Half)0.5f), BitConverter.ToUInt16(block));
        for (int i = 0; i < 31; i++) Assert.Equal((sbyte)(i * 4 - 62), (sbyte)block[2 + i]);
        Assert.Equal(127, (sbyte)block[33]);
        Assert.Equal(values, Q8Zero.Dequantize(block));
        Assert.All(Q8Zero.Dequantize(Q8Zero.Quantize(new float[32])), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void Q8ZeroRoundTripIsWithinHalfAStep()
    {
        var random = new Random(3);
        var values = Enumerable.Range(0, 32 * 64).Select(_ => (float)(random.NextDouble() * 8 - 4)).ToArray();
        var back = Q8Zero.Dequantize(Q8Zero.Quantize(values));
        for (int b = 0; b < 64; b++)
        {
            float d = values.Skip(b * 32).Take(32).Max(Math.Abs) / 127;
            for (int i = b * 32; i < b * 32 + 32; i++) Assert.True(Math.Abs(values[i] - back[i]) <= 0.51f * d + 1e-3f * Math.Abs(values[i]));
        }
        Assert.Throws<ArgumentException>(() => Q8Zero.Quantize(new float[33]));
    }

    [Fact]
    public void FileLayoutReadsBack()
    {
        var file = new GgufFile();
        file.Add("general.architecture", "llama");
        file.Add("llama.block_count", 2u);
        file.Add("tokenizer.ggml.tokens", new[] { "a", "bc" });
        var data = Enumerable.Range(0, 64).Select(i => (float)i).ToArray();
        file.AddTensor("t.weight", [2, 32], GgmlType.F32, data.SelectMany(BitConverter.GetBytes).ToArray());
        using var stream = new MemoryStream();
        file.WriteTo(stream);
        var read = GgufReader.Read(stream.ToArray());
        Assert.Equal("llama", read.Metadata["general.architecture"]);
        Assert.Equal(2u, read.Metadata["llama.block_count"]);
        Assert.Equal(new[] { "a", "bc" }, (string[])read.Metadata["tokenizer.ggml.tokens"]);
        var tensor = Assert.Single(read.Tensors);
        Assert.Equal("t.weight", tensor.Name);
        Assert.Equal(new ulong[] { 32, 2 }, tensor.Dims);   // innermost first
        Assert.Equal(0u, tensor.Type);
        Assert.Equal(0, tensor.Start % 32);
        Assert.Equal(data, read.Floats(tensor));
    }

    [Fact]
    public void LlamaExportUsesLlamaCppNamesAndInterleavedRotaryRows()
    {
        var config = TestModels.Tiny("llama", tied: true);
        using var model = TestModels.Random(config);
        string path = Path.Combine(Directory.CreateTempSubdirectory("selfalign-gguf-").FullName, "tiny.gguf");
        GgufExport.Write(path, model, Path.Combine(TestModels.TokenizerFolder("smollm2"), "tokenizer.json"), GgmlType.F32, "smollm");
        var read = GgufReader.Read(File.ReadAllBytes(path));
        Assert.Equal((uint)config.NumKvHeads, read.Metadata["llama.attention.head_count_kv"]);
        Assert.Equal(config.VocabSize, ((string[])read.Metadata["tokenizer.ggml.tokens"]).Length);
        Assert.Equal(2 + 9 * config.NumLayers, read.Tensors.Count);   // tied: no output.weight
        Assert.DoesNotContain(read.Tensors, t => t.Name == "output.weight");

        var weights = model.Parameters().ToDictionary(p => p.Name, p => p.Tensor);
        using var q = weights["model.layers.1.self_attn.q_proj.weight"].contiguous();
        var hf = q.data<float>().ToArray();
        var gguf = read.Floats(read.Tensors.Single(t => t.Name == "blk.1.attn_q.weight"));
        int d = config.HeadDim, hidden = config.HiddenSize;
        // Within each head, Hugging Face's row i of the first half goes to 2i and of the second half to 2i + 1.
        for (int head = 0; head < config.NumHeads; head++)
            for (int i = 0; i < d / 2; i++)
            {
                Assert.Equal(hf.AsSpan((head * d + i) * hidden, hidden).ToArray(), gguf.AsSpan((head * d + 2 * i) * hidden, hidden).ToArray());
                Assert.Equal(hf.AsSpan((head * d + d / 2 + i) * hidden, hidden).ToArray(), gguf.AsSpan((head * d + 2 * i + 1) * hidden, hidden).ToArray());
            }
        using var down = weights["model.layers.0.mlp.down_proj.weight"].contiguous();
        Assert.Equal(down.data<float>().ToArray(), read.Floats(read.Tensors.Single(t => t.Name == "blk.0.ffn_down.weight")));
        using var qwen = TestModels.Random(TestModels.Tiny("qwen2"));
        Assert.Throws<NotSupportedException>(() => GgufExport.Write(path + ".qwen", qwen, Path.Combine(TestModels.TokenizerFolder("smollm2"), "tokenizer.json"), GgmlType.F32));
        Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
    }

    /// <summary>A reader of the GGUF fields this project writes, following the specification independently of the writer.</summary>
    sealed record GgufReader(Dictionary<string, object> Metadata, List<(string Name, ulong[] Dims, uint Type, long Start)> Tensors, byte[] Bytes)
    {
        public static GgufReader Read(byte[] bytes)
        {
            using var r = new BinaryReader(new MemoryStream(bytes));
            Assert.Equal("GGUF", Encoding.ASCII.GetString(r.ReadBytes(4)));
            Assert.Equal(3u, r.ReadUInt32());
            ulong tensors = r.ReadUInt64(), kvs = r.ReadUInt64();
            var metadata = new Dictionary<string, object>();
            for (ulong i = 0; i < kvs; i++)
            {
                string key = Str(r);
                metadata[key] = Value(r, r.ReadUInt32());
            }
            var infos = new List<(string, ulong[], uint, ulong)>();
            for (ulong i = 0; i < tensors; i++)
            {
                string name = Str(r);
                var dims = Enumerable.Range(0, (int)r.ReadUInt32()).Select(_ => r.ReadUInt64()).ToArray();
                infos.Add((name, dims, r.ReadUInt32(), r.ReadUInt64()));
            }
            long data = (r.BaseStream.Position + 31) / 32 * 32;
            return new GgufReader(metadata, infos.Select(t => (t.Item1, t.Item2, t.Item3, data + (long)t.Item4)).ToList(), bytes);
        }

        public float[] Floats((string Name, ulong[] Dims, uint Type, long Start) tensor)
        {
            Assert.Equal(0u, tensor.Type);
            long count = tensor.Dims.Aggregate(1L, (a, b) => a * (long)b);
            return Enumerable.Range(0, (int)count).Select(i => BitConverter.ToSingle(Bytes, (int)tensor.Start + 4 * i)).ToArray();
        }

        static string Str(BinaryReader r) => Encoding.UTF8.GetString(r.ReadBytes((int)r.ReadUInt64()));

        static object Value(BinaryReader r, uint type) => type switch
        {
            4 => r.ReadUInt32(),
            5 => r.ReadInt32(),
            6 => r.ReadSingle(),
            7 => r.ReadBoolean(),
            8 => Str(r),
            9 => Array(r, r.ReadUInt32(), r.ReadUInt64()),
            _ => throw new InvalidDataException($"value type {type}"),
        };

        static object Array(BinaryReader r, uint type, ulong count) => type == 8
            ? Enumerable.Range(0, (int)count).Select(_ => Str(r)).ToArray()
            : Enumerable.Range(0, (int)count).Select(_ => Value(r, type)).ToArray();
    }
}
