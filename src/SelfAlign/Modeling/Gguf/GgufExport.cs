using System.Text.Json;
using SelfAlign.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace SelfAlign.Modeling.Gguf;

/// <summary>
/// Writes a Llama-architecture model as a GGUF file that llama.cpp loads: the weights under
/// llama.cpp's names (q and k rows reordered for its interleaved rotary layout, as its own
/// converter does), the hyperparameters, and the byte-level BPE vocabulary of the model's
/// <c>tokenizer.json</c>. Norm weights stay float32; 2-D weights take the chosen type. Internal:
/// the benchmarks run llama.cpp on it; a user-facing export would also need llama.cpp's name for
/// every tokenizer's pre-tokenizer, which its converter finds by hashing encodings.
/// </summary>
internal static class GgufExport
{
    /// <summary>
    /// Writes <paramref name="model"/> to <paramref name="path"/> (atomically) with the vocabulary
    /// of <paramref name="tokenizerJson"/>; <paramref name="preTokenizer"/> is llama.cpp's name of
    /// the tokenizer's pre-tokenizer (SmolLM2's is "smollm").
    /// </summary>
    public static void Write(string path, CausalLm model, string tokenizerJson, GgmlType type, string preTokenizer = "default")
    {
        var c = model.Config;
        if (c.ModelType != "llama" || c.AttentionBias || c.OutputBias || c.MlpBias || c.QkNorm || c.RopeScaling is not null
            || c.RotaryDim != c.HeadDim || c.SlidingWindows.Any(w => w is not null))
            throw new NotSupportedException("GGUF export covers plain Llama-architecture models (no biases, q/k norms, rope scaling or sliding windows)");
        var file = new GgufFile();
        file.Add("general.architecture", "llama");
        file.Add("general.name", Path.GetFileNameWithoutExtension(path));
        file.Add("general.file_type", type switch { GgmlType.F32 => 0u, GgmlType.Q8_0 => 7u, _ => 32u });
        file.Add("llama.context_length", (uint)c.MaxPositionEmbeddings);
        file.Add("llama.embedding_length", (uint)c.HiddenSize);
        file.Add("llama.block_count", (uint)c.NumLayers);
        file.Add("llama.feed_forward_length", (uint)c.IntermediateSize);
        file.Add("llama.attention.head_count", (uint)c.NumHeads);
        file.Add("llama.attention.head_count_kv", (uint)c.NumKvHeads);
        file.Add("llama.attention.key_length", (uint)c.HeadDim);
        file.Add("llama.attention.value_length", (uint)c.HeadDim);
        file.Add("llama.rope.dimension_count", (uint)c.HeadDim);
        file.Add("llama.rope.freq_base", (float)c.RopeTheta);
        file.Add("llama.attention.layer_norm_rms_epsilon", (float)c.NormEps);
        file.Add("llama.vocab_size", (uint)c.VocabSize);
        AddVocabulary(file, c, tokenizerJson, preTokenizer);

        using var scope = torch.NewDisposeScope();
        foreach (var (name, tensor) in model.Parameters())
        {
            var (ggufName, heads) = Name(name, c);
            var weight = heads > 0 ? Interleave(tensor, heads) : tensor;
            var t = weight.dim() == 1 ? GgmlType.F32 : type;
            file.AddTensor(ggufName, weight.shape, t, Bytes(weight, t));
        }
        AtomicFile.Write(path, file.WriteTo);
    }

    /// <summary>llama.cpp's name for a Hugging Face tensor, and the heads to interleave (q, k) or 0.</summary>
    static (string Name, int Heads) Name(string hf, ModelConfig c)
    {
        if (hf == WeightNames.Embedding) return ("token_embd.weight", 0);
        if (hf == WeightNames.LmHead) return ("output.weight", 0);
        if (hf == WeightNames.FinalNorm + ".weight") return ("output_norm.weight", 0);
        var parts = hf.Split('.');
        string block = $"blk.{parts[2]}.";
        return string.Join('.', parts[3..]) switch
        {
            "self_attn.q_proj.weight" => (block + "attn_q.weight", c.NumHeads),
            "self_attn.k_proj.weight" => (block + "attn_k.weight", c.NumKvHeads),
            "self_attn.v_proj.weight" => (block + "attn_v.weight", 0),
            "self_attn.o_proj.weight" => (block + "attn_output.weight", 0),
            "mlp.gate_proj.weight" => (block + "ffn_gate.weight", 0),
            "mlp.up_proj.weight" => (block + "ffn_up.weight", 0),
            "mlp.down_proj.weight" => (block + "ffn_down.weight", 0),
            "input_layernorm.weight" => (block + "attn_norm.weight", 0),
            "post_attention_layernorm.weight" => (block + "ffn_norm.weight", 0),
            var other => throw new NotSupportedException($"no GGUF name for '{hf}' ({other})"),
        };
    }

    // Hugging Face rotates the two halves of a head; llama.cpp's Llama rotates adjacent pairs, so
    // row i of each half moves to rows 2i and 2i + 1.
    static Tensor Interleave(Tensor w, int heads)
    {
        long rows = w.shape[0], cols = w.shape[1];
        return w.reshape(heads, 2, rows / heads / 2, cols).transpose(1, 2).reshape(rows, cols);
    }

    static unsafe byte[] Bytes(Tensor w, GgmlType type)
    {
        var dtype = type == GgmlType.BF16 ? ScalarType.BFloat16 : ScalarType.Float32;
        using var cpu = w.to(dtype, torch.CPU).contiguous();
        var bytes = new ReadOnlySpan<byte>(NativeTensor.Pointer(cpu), checked((int)NativeTensor.ByteCount(cpu)));
        return type == GgmlType.Q8_0 ? Q8Zero.Quantize(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes)) : bytes.ToArray();
    }

    // tokenizer.json's vocabulary by id (added tokens as control tokens), padded to the model's
    // vocabulary size, and its merges as "left right" strings.
    static void AddVocabulary(GgufFile file, ModelConfig c, string tokenizerJson, string preTokenizer)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(tokenizerJson));
        var model = doc.RootElement.GetProperty("model");
        if (model.GetProperty("type").GetString() != "BPE")
            throw new NotSupportedException($"{tokenizerJson}: GGUF export writes byte-level BPE vocabularies only");
        int size = c.VocabSize;
        var tokens = new string[size];
        var types = new int[size];
        foreach (var entry in model.GetProperty("vocab").EnumerateObject())
            if (entry.Value.GetInt32() < size) (tokens[entry.Value.GetInt32()], types[entry.Value.GetInt32()]) = (entry.Name, 1);
        foreach (var added in doc.RootElement.GetProperty("added_tokens").EnumerateArray())
        {
            int id = added.GetProperty("id").GetInt32();
            if (id < size) (tokens[id], types[id]) = (added.GetProperty("content").GetString()!, added.GetProperty("special").GetBoolean() ? 3 : 4);
        }
        for (int i = 0; i < size; i++)
            if (tokens[i] is null) (tokens[i], types[i]) = ($"[PAD{i}]", 5);
        var merges = model.GetProperty("merges").EnumerateArray()
            .Select(m => m.ValueKind == JsonValueKind.String ? m.GetString()! : $"{m[0].GetString()} {m[1].GetString()}").ToList();
        file.Add("tokenizer.ggml.model", "gpt2");
        file.Add("tokenizer.ggml.pre", preTokenizer);
        file.Add("tokenizer.ggml.tokens", tokens);
        file.Add("tokenizer.ggml.token_type", types);
        file.Add("tokenizer.ggml.merges", merges);
        if (c.BosTokenId is int bos) file.Add("tokenizer.ggml.bos_token_id", (uint)bos);
        if (c.EosTokenIds.Count > 0) file.Add("tokenizer.ggml.eos_token_id", (uint)c.EosTokenIds[0]);
        file.Add("tokenizer.ggml.add_bos_token", false);
    }
}
