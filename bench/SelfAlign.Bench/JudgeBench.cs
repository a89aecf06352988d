using System.Diagnostics;
using SelfAlign.Evaluation;
using SelfAlign.Inference;
using SelfAlign.Judging;
using SelfAlign.Modeling;
using SelfAlign.Text;
using static TorchSharp.torch;

namespace SelfAlign.Bench;

/// <summary>
/// Pairs judged per second by the yes/no judge over pairs of the shipped preference suite, on a
/// random model (in the dtype auto picks) shaped like SmolLM2-135M with the real SmolLM2 tokenizer
/// and chat template: the plain path (one input at a time, full forward) against the fast path
/// (shared prefixes, last-position projection, length buckets), with the fast path's FLOP rate
/// against the matmul rate measured in the same run.
/// </summary>
internal static class JudgeBench
{
    public static int Run(int threads, string[] args)
    {
        int pairs = args.Length > 0 ? int.Parse(args[0]) : 200;
        string folder = BenchModel.SmolLm2Folder;
        var config = ModelConfig.Load(Path.Combine(folder, "config.json"));
        var tokenizer = Tokenizer.Load(folder);
        double matmul = MachineLimits.MatmulFlops();
        using var model = BenchModel.Random(config);
        using var noGrad = no_grad();

        var (sample, items) = Work(pairs);

        var fastEngine = new LocalLanguageModel(model, tokenizer);
        var fastJudge = new YesNoJudge(fastEngine, new YesNoOptions(JudgePromptSet.IpoEvaluation));
        var inputs = items.Select(fastJudge.Input).ToArray();
        var flops = BenchModel.Flops(model);

        // Useful work of the fast path: every shared stretch once, every input's own tokens, one head row per input.
        var defaults = new LocalModelOptions();
        var plan = PrefixPlan.Build(inputs, defaults.MinSharedPrefix, defaults.MaxBatchTokens, defaults.MaxBatchRows);
        var batches = All(plan.Batches).ToArray();
        var rows = batches.SelectMany(b => b.Rows).ToArray();
        double fastTokens = rows.Sum(r => r.Length);
        double paddedTokens = batches.Sum(b => b.Rows.Count * b.Rows.Max(r => r.Length));
        double fastFlops = rows.Sum(r => flops.Tokens(r.Start, r.End)) + inputs.Length * flops.HeadPerRow;
        double plainTokens = inputs.Sum(i => i.Count);
        double plainFlops = inputs.Sum(i => flops.Tokens(0, i.Count) + i.Count * flops.HeadPerRow);

        Console.WriteLine($"model: SmolLM2-135M shape (hidden {config.HiddenSize}, {config.NumLayers} layers, vocab {config.VocabSize}), random {BenchModel.DTypeName} weights, {threads} threads");
        Console.WriteLine($"work: {sample.Length} pairs ({inputs.Length} judge inputs, {plainTokens / inputs.Length:F0} tokens on average, longest {inputs.Max(i => i.Count)}), " +
            $"chat template, ipo-eval prompts");
        Console.WriteLine($"fast path plan: {batches.Length} batches in {Depth(plan.Batches)} levels; computes {fastTokens:F0} of {plainTokens:F0} tokens, " +
            $"padding adds {100 * (paddedTokens - fastTokens) / paddedTokens:F1}%");
        Console.WriteLine();
        var fast = Time(fastJudge, items, out var fastScores);
        var plainJudge = new YesNoJudge(new LocalLanguageModel(model, tokenizer, new LocalModelOptions { FastPath = false }), new YesNoOptions(JudgePromptSet.IpoEvaluation));
        var plain = Time(plainJudge, items, out var plainScores);
        // The limit is measured before and after the timed runs and the higher taken: a dip on a
        // shared machine must not inflate the percentages.
        matmul = Math.Max(matmul, MachineLimits.MatmulFlops());
        Console.WriteLine($"machine: {BenchModel.DTypeName} matmul {matmul / 1e9:F0} GFLOP/s (best of before and after)");
        Console.WriteLine($"{"path",-6} {"seconds",8} {"pairs/s",8} {"GFLOP/s",8} {"% matmul",9}");
        Report("fast", fast, fastFlops);
        Report("plain", plain, plainFlops);
        Console.WriteLine($"fast path speed-up: {plain / fast:F2}x; largest score difference fast vs plain: " +
            $"{fastScores.Zip(plainScores).Max(p => Math.Abs(p.First.Score - p.Second.Score)):E2}");
        return 0;

        void Report(string path, double seconds, double flops) =>
            Console.WriteLine($"{path,-6} {seconds,8:F1} {sample.Length / seconds,8:F2} {flops / seconds / 1e9,8:F0} {100 * flops / seconds / matmul,8:F0}%");
    }

    /// <summary>Useful FLOPs of the fast path: every shared stretch once, every input's own tokens, one head row per input.</summary>
    public static double FastFlops(CausalLm model, YesNoJudge judge, JudgeItem[] items)
    {
        var inputs = items.Select(judge.Input).ToArray();
        var defaults = new LocalModelOptions();
        var rows = All(PrefixPlan.Build(inputs, defaults.MinSharedPrefix, defaults.MaxBatchTokens, defaults.MaxBatchRows).Batches).SelectMany(b => b.Rows);
        var flops = BenchModel.Flops(model);
        return rows.Sum(r => flops.Tokens(r.Start, r.End)) + inputs.Length * flops.HeadPerRow;
    }

    /// <summary>FLOPs of one full forward per input with the head on its last position only.</summary>
    public static double PlainFlops(CausalLm model, YesNoJudge judge, JudgeItem[] items)
    {
        var flops = BenchModel.Flops(model);
        return items.Select(judge.Input).Sum(i => flops.Tokens(0, i.Count) + flops.HeadPerRow);
    }

    /// <summary>The same pairs every run: an equal share of each subset of the shipped suite, drawn by seed 0; chosen, then rejected.</summary>
    public static (BenchItem[] Pairs, JudgeItem[] Items) Work(int pairs)
    {
        var (all, _) = BenchData.Load([Path.Combine(BenchModel.RepoRoot(), "data", "prefbench")], skipInvalid: false);
        int perSubset = (int)Math.Ceiling((double)pairs / all.Select(i => i.Subset).Distinct().Count());
        var sample = BenchData.Sample(all, perSubset, seed: 0).Take(pairs).ToArray();
        return (sample, sample.SelectMany(p => new[] { p.Chosen[0], p.Rejected[0] }.Select(r => new JudgeItem(p.Prompt, r, p.Category!, p.Subset))).ToArray());
    }

    static IEnumerable<PrefixPlan.Batch> All(IReadOnlyList<PrefixPlan.Batch> batches) => batches.SelectMany(b => All(b.Next).Prepend(b));

    static int Depth(IReadOnlyList<PrefixPlan.Batch> batches) => batches.Count == 0 ? 0 : 1 + batches.Max(b => Depth(b.Next));

    /// <summary>Fastest of two timed runs after a warm-up, in seconds: the machine may be shared.</summary>
    public static double Time(YesNoJudge judge, JudgeItem[] items, out IReadOnlyList<YesNoScore> scores)
    {
        judge.Score(items.Take(4).ToArray());
        double best = double.MaxValue;
        scores = [];
        for (int run = 0; run < 2; run++)
        {
            var sw = Stopwatch.StartNew();
            scores = judge.Score(items);
            best = Math.Min(best, sw.Elapsed.TotalSeconds);
        }
        return best;
    }
}
