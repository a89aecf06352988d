using System.Diagnostics;
using LLama;
using LLama.Common;
using LLama.Native;
using SelfAlign.Modeling;
using SelfAlign.Modeling.Gguf;

namespace SelfAlign.Bench;

/// <summary>
/// llama.cpp (through LLamaSharp's CPU build) running the benchmark's own weights, written by
/// SelfAlign as GGUF: the peer measured in the same run. Sampling and greedy picks go through
/// llama.cpp's native sampler chain, as its own tools sample.
/// </summary>
internal sealed class LlamaCppPeer : IDisposable
{
    readonly LLamaWeights _weights;
    readonly LLamaContext _context;
    readonly LLamaBatch _batch = new();

    LlamaCppPeer(string gguf, int threads, uint contextSize, int sequences, bool f32Cache)
    {
        _weights = LLamaWeights.LoadFromFile(new ModelParams(gguf) { GpuLayerCount = 0 });
        _context = _weights.CreateContext(new ModelParams(gguf)
        {
            ContextSize = contextSize,
            BatchSize = 2048,
            UBatchSize = 512,
            SeqMax = (uint)sequences,
            Threads = threads,
            BatchThreads = threads,
            GpuLayerCount = 0,
            // llama.cpp keeps its KV cache in f16 and its CPU flash attention converts queries to f16;
            // the logits check wants f32 all through.
            TypeK = f32Cache ? GGMLType.GGML_TYPE_F32 : null,
            TypeV = f32Cache ? GGMLType.GGML_TYPE_F32 : null,
            FlashAttention = f32Cache ? false : null,
        });
    }

    /// <summary>The version of the native library, for the report.</summary>
    public static string Describe => "llama.cpp via LLamaSharp " + typeof(LlamaCppPeer).Assembly
        .GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), false).OfType<System.Reflection.AssemblyMetadataAttribute>()
        .Single(a => a.Key == "LLamaSharpVersion").Value + " (CPU backend)";

    /// <summary>Writes <paramref name="model"/> as GGUF of <paramref name="type"/> into <paramref name="folder"/> and loads it.</summary>
    public static LlamaCppPeer Open(CausalLm model, string folder, GgmlType type, int threads, uint contextSize = 16384, int sequences = 32)
    {
        NativeLogConfig.llama_log_set((level, message) => { if (level == LLamaLogLevel.Error) Console.Error.Write(message); });
        string path = Path.Combine(folder, $"bench-{type.ToString().ToLowerInvariant()}.gguf");
        if (!File.Exists(path)) GgufExport.Write(path, model, Path.Combine(BenchModel.SmolLm2Folder, "tokenizer.json"), type, "smollm");
        return new LlamaCppPeer(path, threads, contextSize, sequences, type == GgmlType.F32);
    }

    SafeLLamaContextHandle Native => _context.NativeHandle;

    /// <summary>Prefills <paramref name="rows"/> (one sequence each) from an empty cache; logits of each row's last position only.</summary>
    public void Prefill(IReadOnlyList<int[]> rows)
    {
        Native.MemoryClear(true);
        // One decode call per row keeps each batch within n_batch, as llama.cpp's own tools submit prompts.
        for (int s = 0; s < rows.Count; s++)
        {
            _batch.Clear();
            for (int i = 0; i < rows[s].Length; i++) _batch.Add(rows[s][i], i, (LLamaSeqId)s, i == rows[s].Length - 1);
            Check(Native.Decode(_batch));
        }
    }

    /// <summary>The float32 logits of the last position of sequence 0 after <see cref="Prefill"/> of one row.</summary>
    public float[] LastLogits() => Native.GetLogitsIth(_batch.TokenCount - 1).ToArray();

    /// <summary>Seconds per step of <paramref name="steps"/> greedy decode steps over the prefilled rows.</summary>
    public double DecodeSeconds(IReadOnlyList<int[]> prompts, int steps)
    {
        Prefill(prompts);
        using var greedy = SafeLLamaSamplerChainHandle.Create(LLamaSamplerChainParams.Default());
        greedy.AddGreedySampler();
        var next = prompts.Select(_ => 0).ToArray();
        var sw = Stopwatch.StartNew();
        for (int step = 0; step < steps; step++)
        {
            _batch.Clear();
            for (int s = 0; s < prompts.Count; s++) _batch.Add(next[s], prompts[s].Length + step, (LLamaSeqId)s, true);
            Check(Native.Decode(_batch));
            for (int s = 0; s < prompts.Count; s++) next[s] = (int)greedy.Sample(Native, s);
        }
        return sw.Elapsed.TotalSeconds / steps;
    }

    /// <summary>
    /// Samples <paramref name="samples"/> continuations of <paramref name="newTokens"/> tokens for each
    /// prompt, all sequences in one batch: each prompt prefilled once and its cache shared by its samples
    /// (llama.cpp's sequence copy), temperature and top-k by its sampler chain. Returns seconds.
    /// </summary>
    public double Sample(IReadOnlyList<int[]> prompts, int samples, int newTokens, float temperature, int topK)
    {
        var sw = Stopwatch.StartNew();
        Native.MemoryClear(true);
        int rows = prompts.Count * samples;
        var next = new int[rows];
        var chains = Enumerable.Range(0, rows).Select(r =>
        {
            var chain = SafeLLamaSamplerChainHandle.Create(LLamaSamplerChainParams.Default());
            chain.AddTopK(topK);
            chain.AddTemperature(temperature);
            chain.AddDistributionSampler((uint)r);
            return chain;
        }).ToArray();
        try
        {
            for (int p = 0; p < prompts.Count; p++)
            {
                int first = p * samples;
                _batch.Clear();
                for (int i = 0; i < prompts[p].Length; i++) _batch.Add(prompts[p][i], i, (LLamaSeqId)first, i == prompts[p].Length - 1);
                Check(Native.Decode(_batch));
                for (int s = 1; s < samples; s++) Native.MemorySequenceCopy((LLamaSeqId)first, (LLamaSeqId)(first + s), 0, prompts[p].Length);
                for (int s = 0; s < samples; s++) next[first + s] = (int)chains[first + s].Sample(Native, _batch.TokenCount - 1);
            }
            for (int step = 1; step < newTokens; step++)
            {
                _batch.Clear();
                for (int r = 0; r < rows; r++) _batch.Add(next[r], prompts[r / samples].Length + step - 1, (LLamaSeqId)r, true);
                Check(Native.Decode(_batch));
                for (int r = 0; r < rows; r++) next[r] = (int)chains[r].Sample(Native, r);
            }
        }
        finally
        {
            foreach (var chain in chains) chain.Dispose();
        }
        return sw.Elapsed.TotalSeconds;
    }

    static void Check(DecodeResult result)
    {
        if (result != DecodeResult.Ok) throw new InvalidOperationException($"llama.cpp decode failed: {result}");
    }

    public void Dispose()
    {
        _context.Dispose();
        _weights.Dispose();
    }
}
