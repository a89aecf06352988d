using System.Diagnostics;
using SelfAlign.Modeling;
using SelfAlign.Modeling.Lora;
using SelfAlign.Training;
using static TorchSharp.torch;

namespace SelfAlign.Bench;

/// <summary>
/// DPO training steps per second (forward, backward, clipping, AdamW) with a rank-16 LoRA on all
/// seven projections of a random model (in the dtype auto picks) shaped like SmolLM2-135M: one
/// pair per step, each response 256 tokens after a 256-token prompt (sequences of 512). FLOPs
/// counted per step are the forward pass of both sequences twice over: the frozen base needs
/// gradients with respect to its inputs only, which cost about as much as the forward. Also
/// timed: the reference forward that the log-prob cache saves at every step.
/// </summary>
internal static class DpoBench
{
    const int Prompt = 256, Response = 256, Steps = 4;

    public static int Run(int threads)
    {
        var config = ModelConfig.Load(Path.Combine(BenchModel.SmolLm2Folder, "config.json"));
        double matmulBefore = MachineLimits.MatmulFlops();
        using var model = BenchModel.Random(config);
        var pairs = Pairs(config);
        string folder = Directory.CreateTempSubdirectory("selfalign-dpo-bench-").FullName;
        try
        {
            // The first pass pays for allocation; the timed pass computes the other pairs' reference log-probs.
            ReferenceLogProbs.Load(model, pairs[..1], Path.Combine(folder, "reference.jsonl"), padId: 0);
            var referenceClock = Stopwatch.StartNew();
            var reference = ReferenceLogProbs.Load(model, pairs, Path.Combine(folder, "reference.jsonl"), padId: 0);
            double referencePerPair = referenceClock.Elapsed.TotalSeconds / (pairs.Count - 1);

            double step = StepSeconds(model, pairs, reference, folder);
            double matmul = Math.Max(matmulBefore, MachineLimits.MatmulFlops());
            double rate = Flops(model) / step;
            long tokens = 2 * (Prompt + Response);
            Console.WriteLine($"DPO step, LoRA r=16 (all linear), SmolLM2-135M shape, {BenchModel.DTypeName} base, {threads} threads, 1 pair x 2 x {Prompt + Response} tokens");
            Console.WriteLine($"  {BenchModel.DTypeName,-4} matmul limit   {matmul / 1e9,8:F0} GFLOP/s");
            Console.WriteLine($"  step                {step * 1000,8:F0} ms   {1 / step,6:F2} pairs/s   {tokens / step,7:F0} tokens/s");
            Console.WriteLine($"  model FLOPs         {rate / 1e9,8:F0} GFLOP/s = {100 * rate / matmul:F0}% of the matmul rate");
            Console.WriteLine($"  reference forward   {referencePerPair * 1000,8:F0} ms per pair, cached once: saves {100 * referencePerPair / (step + referencePerPair):F0}% of an uncached step");
            Console.WriteLine($"  peak memory (RSS)   {Timing.PeakRss() / (1024.0 * 1024):F0} MiB");
            return 0;
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>The benchmark's pairs: a 256-token prompt and two 256-token responses each, random ids drawn by seed 0.</summary>
    public static List<TokenizedPair> Pairs(ModelConfig config)
    {
        var random = new Random(0);
        int[] Ids(int n) => Enumerable.Range(0, n).Select(_ => random.Next(config.VocabSize)).ToArray();
        return Enumerable.Range(0, Steps + 1).Select(i =>
        {
            var prompt = Ids(Prompt);
            return new TokenizedPair($"p{i}", new TokenizedCompletion(prompt, Ids(Response)), new TokenizedCompletion(prompt, Ids(Response)), null);
        }).ToList();
    }

    /// <summary>FLOPs of one step: the forward of both sequences, twice over.</summary>
    public static double Flops(CausalLm model)
    {
        var flops = BenchModel.Flops(model);
        return 2 * 2 * (flops.Tokens(0, Prompt + Response) + flops.HeadPerRow * Response);
    }

    /// <summary>The fastest DPO step after the first (which pays for allocation), in seconds.</summary>
    public static double StepSeconds(CausalLm model, List<TokenizedPair> pairs, Dictionary<string, (float Chosen, float Rejected)> reference, string folder)
    {
        var objective = new PreferenceObjective(model, pairs, reference, new PreferenceLossOptions(), padId: 0);
        var times = new List<double>();
        var clock = Stopwatch.StartNew();
        var trainer = new Trainer(model, new TrainOptions
        {
            BatchSize = 1, MaxSteps = pairs.Count, CheckpointEvery = 1000, Lora = new LoraConfig(Rank: 16, Alpha: 32, Dropout: 0.05),
        }, folder)
        {
            OnStep = _ =>
            {
                times.Add(clock.Elapsed.TotalSeconds);
                clock.Restart();
            },
        };
        trainer.Run(objective);
        return times.Skip(1).Min();
    }
}
