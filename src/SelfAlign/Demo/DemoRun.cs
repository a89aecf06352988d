using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using SelfAlign.Data;
using SelfAlign.Evaluation;
using SelfAlign.Inference;
using SelfAlign.IO;
using SelfAlign.Judging;
using SelfAlign.Modeling;
using SelfAlign.Pipeline;
using SelfAlign.Text;

namespace SelfAlign.Demo;

/// <summary>What <c>selfalign demo</c> does.</summary>
/// <param name="Out">The demo's folder (report, plots, benchmark and loop runs).</param>
/// <param name="Cache">Where seed models are cached by their spec's hash.</param>
/// <param name="Seed">Seed of the world, the seed model and the loops.</param>
/// <param name="Quick">The small world and model (a few minutes) instead of the full demo.</param>
/// <param name="Overwrite">Replace an output folder the demo did not write (or start its own over).</param>
public sealed record DemoOptions(string Out, string Cache, int Seed = 1, bool Quick = false, bool Overwrite = false);

/// <summary>A judge's accuracy on the held-out preference benchmark, overall and per category.</summary>
/// <param name="Judge">yesno, additive, pairwise or verifier.</param>
/// <param name="Overall">Mean of the categories' accuracies.</param>
/// <param name="ByCategory">Accuracy (ties half) per category.</param>
/// <param name="Ties">Tied comparisons.</param>
/// <param name="FormatFailures">Judgments without a readable verdict.</param>
public sealed record JudgeAccuracy(string Judge, RatePoint Overall, IReadOnlyDictionary<string, RatePoint> ByCategory, int Ties, int FormatFailures);

/// <summary>One model of one method's loop, measured.</summary>
/// <param name="Method">The method's name.</param>
/// <param name="Iteration">0 for M0, t for the model after iteration t.</param>
/// <param name="Metrics">Its evaluation.</param>
/// <param name="Pairs">Pairs its iteration trained on (null for M0).</param>
/// <param name="PairPrecision">Share of those pairs whose chosen response is correct and rejected one wrong, by the verifier.</param>
/// <param name="OwnSampleAccuracy">The judge's accuracy on the iteration's own candidates: correct over wrong, ties half.</param>
/// <param name="OwnSampleByCategory">The same per task category.</param>
/// <param name="SampledByTask">Each test task's sampled success, for paired comparisons between models.</param>
public sealed record LoopPoint(string Method, int Iteration, IReadOnlyList<EvalMetric> Metrics, int? Pairs, RatePoint? PairPrecision, RatePoint? OwnSampleAccuracy,
    IReadOnlyDictionary<string, RatePoint> OwnSampleByCategory, IReadOnlyDictionary<string, double> SampledByTask)
{
    /// <summary>A metric by name, as a rate point.</summary>
    public RatePoint? Rate(string name) => Metrics.FirstOrDefault(m => m.Name == name) is { Low: double low, High: double high } m ? new RatePoint(m.Value, low, high) : null;

    /// <summary>A metric's value by name.</summary>
    public double? Value(string name) => Metrics.FirstOrDefault(m => m.Name == name)?.Value;
}

/// <summary>Everything the demo measured.</summary>
/// <param name="Plan">The sizes and recipe.</param>
/// <param name="SeedModel">The seed model's folders.</param>
/// <param name="Parameters">The seed model's parameter count.</param>
/// <param name="Judges">Judge accuracies on the benchmark.</param>
/// <param name="Loops">Every model of every method.</param>
/// <param name="Seconds">Wall time of this call.</param>
public sealed record DemoResult(DemoPlan Plan, SeedModel.Built SeedModel, long Parameters, IReadOnlyList<JudgeAccuracy> Judges, IReadOnlyList<LoopPoint> Loops, double Seconds);

/// <summary>
/// The demo: trains (or finds cached) the seed model on the task world, measures its three judges
/// and the verifier on the held-out preference benchmark through the benchmark runner, runs the
/// loop with each method, measures every model on the held-out policy test set, and writes
/// <c>report.md</c>, plots and <c>summary.json</c>. Every stage resumes from its outputs.
/// </summary>
public static class DemoRun
{
    /// <summary>Runs the demo of <paramref name="options"/>.</summary>
    public static DemoResult Run(DemoOptions options, IStageProgress progress)
    {
        var clock = Stopwatch.StartNew();
        var plan = DemoPlan.For(options.Quick, options.Seed);
        string outDir = Path.GetFullPath(options.Out);
        OutputGuard.ClaimFolder(outDir, "demo", [new("seed-model cache", Path.GetFullPath(options.Cache))], options.Overwrite);
        Directory.CreateDirectory(outDir);
        RunManifest.WriteOrCheck(Path.Combine(outDir, OutputGuard.FolderManifest), "demo", new JsonObject
        {
            ["quick"] = options.Quick, ["seed"] = options.Seed, ["seed_model"] = plan.Seed.Hash(),
            ["plan"] = JsonSerializer.SerializeToNode(plan, new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower }),
        });
        var m0 = SeedModel.Build(plan.Seed, Path.GetFullPath(options.Cache), progress);
        // Counted from the config's tensor shapes: no need to load the weights for a number.
        long parameters = WeightNames.Expected(ModelFolder.Check(m0.Model)).Sum(w => w.Shape.Aggregate(1L, (a, b) => a * b));

        var judges = MeasureJudges(plan, m0, Path.Combine(outDir, "bench"), progress);
        var loops = new List<LoopPoint>();
        foreach (var method in DemoPlan.Methods)
        {
            progress.Note($"loop: {method.Label}");
            var config = LoopConfig(plan, method, m0, options.Seed);
            string run = IterateStage.Run(config, Path.Combine(outDir, "runs"), LoopEvaluator.From(config), progress);
            loops.AddRange(Points(run, method, plan, m0));
        }
        var result = new DemoResult(plan, m0, parameters, judges, loops, clock.Elapsed.TotalSeconds);
        DemoReport.Write(outDir, options, result);
        return result;
    }

    static IReadOnlyList<JudgeAccuracy> MeasureJudges(DemoPlan plan, SeedModel.Built m0, string folder, IStageProgress progress)
    {
        string data = Path.Combine(m0.World, WorldFiles.PrefBench);
        var (items, _) = BenchData.Load([data], skipInvalid: false);
        var tokenizer = Tokenizer.Load(m0.Model);
        using var model = ModelFolder.Load(m0.Model, new LoadOptions(TorchSharp.torch.ScalarType.Float32));
        var engine = new LocalLanguageModel(model, tokenizer);
        var results = new List<JudgeAccuracy>();
        IBenchJudge[] benchJudges =
        [
            new YesNoBenchJudge(new YesNoJudge(engine, WorldData.YesNo)),
            new AdditiveBenchJudge(new AdditiveJudge(engine, new AdditiveOptions(plan.AdditiveSamples, Seed: (ulong)plan.Seed.WorldSeed))),
            new PairwiseBenchJudge(new PairwiseJudge(engine)),
        ];
        foreach (var judge in benchJudges)
        {
            string outDir = Path.Combine(folder, judge.Name);
            var bar = progress.Begin($"benchmark: {judge.Name} judge", items.Count);
            var run = PreferenceBench.Run(items, judge, categorizer: null, categorizeAll: false, outDir, n => bar.Increment(n));
            var accuracy = BenchMetrics.Compute(run.Records, TieRule.Half);
            BenchReport.Write(outDir, accuracy, new BenchReport.Context(judge.Name, judge.Settings, m0.Model, [data], [], run));
            results.Add(new JudgeAccuracy(judge.Name, new RatePoint(accuracy.Overall, accuracy.OverallInterval.Low, accuracy.OverallInterval.High),
                accuracy.Sections.ToDictionary(s => s.Section, s => new RatePoint(s.Accuracy, s.Interval.Low, s.Interval.High)), accuracy.TieCount, accuracy.FormatFailures));
        }
        // The oracle row: the world's own checks on the same records.
        var tasks = VerifiedTask.ReadFile(Path.Combine(m0.World, WorldFiles.BenchTasks)).ToDictionary(t => t.Id);
        var verdicts = items.Select(i => (Category: i.Category ?? Categories.Chat,
            Right: tasks[i.Id].Check.Accepts(i.Chosen[0]) && !tasks[i.Id].Check.Accepts(i.Rejected[0]))).ToList();
        RatePoint Rate(IReadOnlyCollection<bool> right)
        {
            double rate = right.Count(r => r) / (double)right.Count;
            var (low, high) = Proportion.Wilson(rate, right.Count);
            return new RatePoint(rate, low, high);
        }
        var byCategory = verdicts.GroupBy(v => v.Category).ToDictionary(g => g.Key, g => Rate(g.Select(v => v.Right).ToList()));
        double overall = byCategory.Values.Average(r => r.Rate);
        var (lo, hi) = Proportion.MeanOfRates(verdicts.GroupBy(v => v.Category).Select(g => (byCategory[g.Key].Rate, g.Count())).ToList());
        results.Add(new JudgeAccuracy("verifier", new RatePoint(overall, lo, hi), byCategory, 0, 0));
        return results;
    }

    /// <summary>The loop config of one method: the world's prompts and test set, judge rows mixed back in.</summary>
    static IterateConfig LoopConfig(DemoPlan plan, DemoMethod method, SeedModel.Built m0, int seed) => new()
    {
        Name = method.Name,
        SeedModel = m0.Model,
        Prompts = Path.Combine(m0.World, WorldFiles.LoopPrompts),
        PromptsPerIteration = plan.PromptsPerIteration,
        Iterations = plan.Iterations,
        Seed = (ulong)seed,
        Dtype = "f32",
        Generate = new IterateConfig.GenerateSection(Samples: plan.Samples, Temperature: 0.7, TopK: 40, MaxNewTokens: 32),
        Judge = new IterateConfig.JudgeSection(Kind: method.Judge, Category: JudgeStage.AutoCategory, AdditiveSamples: plan.AdditiveSamples,
            Tasks: method.Judge == "verifier" ? Path.Combine(m0.World, WorldFiles.LoopTasks) : null),
        // A yes/no pair only where the judge is confident both ways: on categories it cannot judge its scores sit near 0.5
        // (a chosen at 0.7 was still often wrong on math), and such pairs train on noise.
        Pair = method.Judge switch
        {
            "yesno" => new IterateConfig.PairSection(MinChosenScore: 0.8, MaxRejectedScore: 0.3),
            "additive" or "verifier" => new IterateConfig.PairSection(MinMargin: 0.5),
            _ => new IterateConfig.PairSection(),
        },
        Train = new IterateConfig.TrainSection
        {
            Loss = method.Loss, Beta = 0.1, NllWeight = 1.0, LearningRate = plan.LearningRate, Epochs = plan.Epochs, BatchSize = 8, WarmupRatio = 0.1,
            CheckpointEvery = 100, MaxLength = 1024, MaxPromptLength = 960, FullFineTuning = true,
            SftMix = new IterateConfig.SftMixSection(Path.Combine(m0.World, WorldFiles.JudgeSft), Weight: 1.0, PerPair: 2),
        },
        Eval = new IterateConfig.EvalSection(Policy: new IterateConfig.PolicySection(Path.Combine(m0.World, WorldFiles.TestTasks), plan.PolicySamples)),
    };

    static IEnumerable<LoopPoint> Points(string run, DemoMethod method, DemoPlan plan, SeedModel.Built m0)
    {
        var tasks = VerifiedTask.ReadFile(Path.Combine(m0.World, WorldFiles.LoopTasks)).ToDictionary(t => t.Id);
        for (int t = 0; t <= plan.Iterations; t++)
        {
            string folder = t == 0 ? Path.Combine(run, "m0") : Path.Combine(run, $"iter-{t}");
            var metrics = IterateReport.ReadMetrics(Path.Combine(folder, "eval", IterateStage.EvalResults)) ?? [];
            var byTask = PairedGain.SampledByTask(Path.Combine(folder, "eval", LoopEvaluator.PolicyResponses));
            if (t == 0)
            {
                yield return new LoopPoint(method.Name, 0, metrics, null, null, null, new Dictionary<string, RatePoint>(), byTask);
                continue;
            }
            var (pairs, precision) = OwnSamples.PairPrecision(Path.Combine(folder, "pairs", "pairs.jsonl"), tasks);
            var (accuracy, byCategory) = OwnSamples.JudgeAccuracy(Path.Combine(folder, "candidates", "candidates.jsonl"), Path.Combine(folder, "judgments", "judgments.jsonl"), tasks);
            yield return new LoopPoint(method.Name, t, metrics, pairs, precision, accuracy, byCategory, byTask);
        }
    }
}
