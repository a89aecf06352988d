using System.Diagnostics;
using SelfAlign.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace SelfAlign.Bench;

/// <summary>
/// Prefill and decode throughput of the transformer on a random model shaped like SmolLM2-135M,
/// in the dtype auto picks (bf16 where the CPU computes it natively, else f32), against that dtype's
/// matmul rate and the memory bandwidth measured in the same run.
/// </summary>
internal static class ModelBench
{
    public static int Run(int threads, string[] args)
    {
        string configPath = args.Length > 0 ? args[0] : Path.Combine(BenchModel.SmolLm2Folder, "config.json");
        var config = ModelConfig.Load(configPath);
        Console.WriteLine($"model: {config.ModelType} from {Path.GetFileName(Path.GetDirectoryName(configPath))}, hidden {config.HiddenSize}, " +
            $"{config.NumLayers} layers, heads {config.NumHeads}/{config.NumKvHeads}, vocab {config.VocabSize}; {BenchModel.DTypeName}; {threads} threads");

        double matmul = MachineLimits.MatmulFlops();
        double bandwidth = MachineLimits.CopyBandwidth();
        Console.WriteLine($"machine: {BenchModel.DTypeName} matmul {matmul / 1e9:F0} GFLOP/s, memory copy {bandwidth / 1e9:F1} GB/s");

        using var model = BenchModel.Random(config);
        using var noGrad = torch.no_grad();
        var flopCount = BenchModel.Flops(model);
        long weightBytes = model.ParameterCount * BenchModel.BytesPerWeight;

        Console.WriteLine();
        Console.WriteLine("prefill (last-position logits)");
        Console.WriteLine($"{"batch",5} {"seq",5} {"tok/s",10} {"GFLOP/s",9} {"% matmul",9}");
        var generator = new torch.Generator(1);
        foreach (int batch in new[] { 1, 8 })
            foreach (int seq in new[] { 128, 512, 1024 })
            {
                using var ids = torch.randint(0, config.VocabSize, [batch, seq], generator: generator);
                double seconds = Timing.Best(() => { using var l = model.Forward(ids, positions: LogitPositions.Last); }, repeats: batch * seq >= 4096 ? 2 : 4);
                double tokens = (double)batch * seq;
                double flops = batch * (flopCount.Tokens(0, seq) + flopCount.HeadPerRow);
                Console.WriteLine($"{batch,5} {seq,5} {tokens / seconds,10:F0} {flops / seconds / 1e9,9:F0} {100 * flops / seconds / matmul,8:F0}%");
            }

        Console.WriteLine();
        Console.WriteLine("decode (128-token prompt, 64 new tokens)");
        Console.WriteLine($"{"batch",5} {"tok/s",10} {"ms/step",9} {"% bandwidth bound",18}");
        double boundTokensPerSecond = bandwidth / weightBytes;
        double batch1 = 0;
        foreach (int batch in new[] { 1, 8 })
        {
            const int prompt = 128, steps = 64;
            using var ids = torch.randint(0, config.VocabSize, [batch, prompt], generator: generator);
            double seconds = Enumerable.Range(0, 2).Min(_ => DecodeStepSeconds(model, ids, steps));
            double tps = batch / seconds;
            if (batch == 1) batch1 = tps;
            string pct = batch == 1 ? $"{100 * tps / boundTokensPerSecond,17:F0}%" : $"{tps / batch1,10:F1}x batch 1";
            Console.WriteLine($"{batch,5} {tps,10:F1} {seconds * 1000,9:F2} {pct}");
        }
        Console.WriteLine($"bandwidth bound at batch 1: {boundTokensPerSecond:F0} tok/s ({weightBytes / 1e6:F0} MB of weights per step)");
        Console.WriteLine($"peak RSS: {Timing.PeakRss() / 1048576.0:F0} MiB");
        return 0;
    }

    /// <summary>Prefills the prompt, then times greedy decoding: seconds per step.</summary>
    static double DecodeStepSeconds(CausalLm model, Tensor ids, int steps)
    {
        int batch = (int)ids.shape[0];
        using var cache = model.CreateCache(batch, (int)ids.shape[1] + steps + 1);
        using (model.Forward(ids, cache: cache, positions: LogitPositions.Last)) { }
        var token = torch.zeros(batch, 1, ScalarType.Int64);
        var sw = Stopwatch.StartNew();
        for (int s = 0; s < steps; s++)
        {
            using var logits = model.Forward(token, cache: cache);
            token.Dispose();
            token = logits.argmax(-1);
        }
        token.Dispose();
        return sw.Elapsed.TotalSeconds / steps;
    }
}
