using System.Diagnostics;
using SelfAlign.Inference;
using SelfAlign.Modeling;
using SelfAlign.Text;
using static TorchSharp.torch;

namespace SelfAlign.Bench;

/// <summary>
/// Sampling throughput: 8 prompts x 4 samples x 128 new tokens on a random model (in the dtype
/// auto picks) shaped like SmolLM2-135M with the real SmolLM2 tokenizer, shared-prefix sampling
/// against sampling every candidate from scratch, next to the memory-bandwidth bound measured in
/// the same run.
/// </summary>
internal static class GenerationBench
{
    const int Prompts = 8, Samples = 4, NewTokens = 128;

    /// <summary>Sampling settings: T = 0.7, top-k 40, 128 new tokens, no stop tokens (every sequence runs to the end).</summary>
    public static SamplingOptions Sampling { get; } = new() { Temperature = 0.7, TopK = 40, MaxNewTokens = NewTokens, StopTokenIds = [] };

    /// <summary>Judge-style prompts: a shared instruction of about 170 tokens and a different question each.</summary>
    public static List<GenerationRequest> Requests(Tokenizer tokenizer)
    {
        var template = ChatTemplate.For(tokenizer);
        string instruction = string.Concat(Enumerable.Repeat("Answer the question below carefully, step by step, and check every claim you make. ", 10));
        return Enumerable.Range(0, Prompts).Select(i => new GenerationRequest(tokenizer.Encode(template.Render(
            [new ChatMessage("system", instruction), new ChatMessage("user", $"Question {i}: what is {i} times {i + 3}, and why?")], true)), Samples, (ulong)i)).ToList();
    }

    public static int Run(int threads)
    {
        string folder = BenchModel.SmolLm2Folder;
        var config = ModelConfig.Load(Path.Combine(folder, "config.json"));
        var tokenizer = Tokenizer.Load(folder);
        double bandwidth = MachineLimits.CopyBandwidth();
        using var model = BenchModel.Random(config);
        using var noGrad = no_grad();

        var requests = Requests(tokenizer);
        double promptTokens = requests.Average(r => r.PromptIds.Count);
        long weightBytes = model.ParameterCount * BenchModel.BytesPerWeight;

        Console.WriteLine($"model: SmolLM2-135M shape (hidden {config.HiddenSize}, {config.NumLayers} layers, vocab {config.VocabSize}), random {BenchModel.DTypeName} weights, {threads} threads");
        Console.WriteLine($"machine: memory copy {bandwidth / 1e9:F1} GB/s; weights {weightBytes / 1e6:F0} MB");
        Console.WriteLine($"work: {Prompts} prompts ({promptTokens:F0} tokens on average) x {Samples} samples x {NewTokens} new tokens, T=0.7 top-k 40");
        Console.WriteLine();
        Console.WriteLine($"{"mode",-22} {"seconds",8} {"tok/s",8} {"% bandwidth bound",18}");
        // With all 32 sequences in one batch each step reads the weights once for 32 tokens.
        double bound = Prompts * Samples * bandwidth / weightBytes;
        double shared = 0;
        foreach (bool share in new[] { true, false })
        {
            var generator = new SelfAlign.Inference.Generator(model, tokenizer);
            double seconds = double.MaxValue;
            long tokens = 0;
            for (int repeat = 0; repeat < 2; repeat++)
            {
                tokens = 0;
                var sw = Stopwatch.StartNew();
                foreach (var _ in generator.Generate(requests, Sampling, new GeneratorOptions(MaxBatchRows: Prompts * Samples, SharePrefill: share), n => tokens += n)) { }
                seconds = Math.Min(seconds, sw.Elapsed.TotalSeconds);
            }
            if (share) shared = seconds;
            Console.WriteLine($"{(share ? "shared prefix" : "each from scratch"),-22} {seconds,8:F2} {tokens / seconds,8:F0} {100 * tokens / seconds / bound,17:F1}%");
            if (!share) Console.WriteLine($"shared-prefix speed-up: {seconds / shared:F2}x");
        }
        Console.WriteLine($"bandwidth bound for 32 sequences: {bound:F0} tok/s; peak RSS {Timing.PeakRss() / 1048576.0:F0} MiB");
        return 0;
    }
}
