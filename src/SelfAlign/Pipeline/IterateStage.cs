using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SelfAlign.Data;
using SelfAlign.IO;
using SelfAlign.Judging;
using SelfAlign.Modeling.Lora;
using SelfAlign.Text;
using SelfAlign.Training;
using ScalarType = TorchSharp.torch.ScalarType;

namespace SelfAlign.Pipeline;

/// <summary>Evaluates one iteration's model into a folder and returns headline numbers for the report.</summary>
public delegate JsonObject IterationEvaluator(string model, string folder, IStageProgress progress);

/// <summary>
/// The self-improvement loop: after an optional SFT stage on the seed model, for t = 1..T, the
/// current model generates candidates for its share of the prompt pool, judges them itself, the
/// judgments become pairs, and a preference loss trains the next model (the merged <c>iter-t/train/model</c>). Everything lives in
/// <c>&lt;runs&gt;/&lt;name&gt;/[sft/,] iter-&lt;t&gt;/{prompts.jsonl,candidates,judgments,pairs,train,eval}</c>; each stage
/// marks completion with a <c>done.json</c>, an interrupted stage resumes from its own outputs,
/// and a run folder started with another configuration is refused. Ends with <c>report.md</c>.
/// </summary>
public static class IterateStage
{
    const string DoneFile = "done.json";

    /// <summary>Runs (or resumes) the loop of <paramref name="config"/> under <paramref name="runsRoot"/>; returns the run folder.</summary>
    public static string Run(IterateConfig config, string runsRoot, IterationEvaluator? evaluate = null, IStageProgress? progress = null)
    {
        progress ??= SilentProgress.Instance;
        string run = Path.Combine(runsRoot, config.Name);
        Directory.CreateDirectory(run);
        var manifest = config.ToJson();
        manifest["prompts_sha256"] = RunManifest.FileSha256(config.Prompts);
        if (config.Sft is not null) manifest["sft_data_sha256"] = RunManifest.FileSha256(config.Sft.Data);
        RunManifest.WriteOrCheck(Path.Combine(run, "manifest.json"), "iterate", manifest);
        var pool = PromptFile.Read(config.Prompts);
        var dtype = config.Dtype == "f32" ? ScalarType.Float32 : ScalarType.BFloat16;
        string model = config.SeedModel;
        if (config.Sft is { } sft)
        {
            string output = Path.Combine(run, "sft");
            Stage(output, () => TrainStage.Run(new TrainJob(model, sft.Data, output, Optimization(sft, config.Seed), Loss: null,
                DType: sft.FullFineTuning ? ScalarType.Float32 : dtype), progress), progress, "SFT");
            model = Path.Combine(output, "model");
        }
        for (int t = 1; t <= config.Iterations; t++)
        {
            string iter = Path.Combine(run, $"iter-{t}");
            progress.Note($"iteration {t} of {config.Iterations}: model {model}");
            string prompts = Path.Combine(iter, "prompts.jsonl");
            Stage(Path.GetDirectoryName(prompts)!, () => WritePrompts(pool, config, t, prompts), progress, $"iter-{t} prompts");

            string candidates = Path.Combine(iter, "candidates", "candidates.jsonl");
            var g = config.Generate;
            Stage(Path.Combine(iter, "candidates"), () => GenerateStage.Run(new GenerateJob(model, prompts, candidates, g.Samples,
                new SamplingOptions { Temperature = g.Temperature, TopK = g.TopK, TopP = g.TopP, MaxNewTokens = g.MaxNewTokens },
                config.Seed + (ulong)t, g.BatchSize, DType: dtype), progress), progress, $"iter-{t} candidates");

            string judgments = Path.Combine(iter, "judgments", "judgments.jsonl");
            var j = config.Judge;
            Stage(Path.Combine(iter, "judgments"), () => JudgeStage.Run(new JudgeJob(model, candidates, judgments,
                new CandidateJudgeOptions(Enum.Parse<JudgeKind>(j.Kind, ignoreCase: true), j.Prompts, j.Format == "plain" ? JudgeFormat.Plain : JudgeFormat.Chat,
                    j.Category, j.AdditiveSamples, config.Seed + (ulong)t), dtype, j.BatchTokens), progress), progress, $"iter-{t} judgments");

            string pairs = Path.Combine(iter, "pairs", "pairs.jsonl");
            Stage(Path.Combine(iter, "pairs"), () =>
            {
                var report = PairStage.Run(candidates, judgments, pairs, new PairRule(config.Pair.MinMargin, config.Pair.Eta));
                AtomicFile.WriteAllText(Path.Combine(iter, "pairs", "report.json"), PairStage.ToJson(report).ToJsonString(Indented) + "\n");
                ScorePlot(report, Path.Combine(iter, "pairs", "scores.png"), t);
            }, progress, $"iter-{t} pairs");

            string train = Path.Combine(iter, "train");
            if (File.ReadLines(pairs).Any(l => l.Length > 0))
            {
                Stage(train, () => TrainStage.Run(TrainJob(config, model, pairs, train, dtype), progress), progress, $"iter-{t} training");
                model = Path.Combine(train, "model");
            }
            else progress.Note($"iter-{t}: no pairs, so no training; the next iteration keeps {model}");

            if (evaluate is not null)
            {
                string eval = Path.Combine(iter, "eval");
                string current = model;
                Stage(eval, () => AtomicFile.WriteAllText(Path.Combine(eval, "results.json"), evaluate(current, eval, progress).ToJsonString(Indented) + "\n"),
                    progress, $"iter-{t} evaluation");
            }
        }
        IterateReport.Write(run, config);
        return run;
    }

    static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    static void Stage(string folder, Action work, IStageProgress progress, string name)
    {
        string marker = Path.Combine(folder, DoneFile);
        if (File.Exists(marker))
        {
            progress.Note($"{name}: done, skipped");
            return;
        }
        Directory.CreateDirectory(folder);
        work();
        AtomicFile.WriteAllText(marker, new JsonObject { ["finished_utc"] = DateTime.UtcNow.ToString("O") }.ToJsonString() + "\n");
    }

    static void WritePrompts(List<PromptRow> pool, IterateConfig config, int t, string path)
    {
        int k = config.PromptsPerIteration == 0 ? pool.Count : Math.Min(config.PromptsPerIteration, pool.Count);
        var order = Enumerable.Range(0, pool.Count).ToArray();
        new Random((int)(config.Seed % int.MaxValue)).Shuffle(order);
        // Disjoint slices of one seeded shuffle; a pool too small for all iterations wraps around.
        var chosen = config.PromptsPerIteration == 0 ? order : Enumerable.Range((t - 1) * k, k).Select(i => order[i % pool.Count]).ToArray();
        var lines = File.ReadAllLines(config.Prompts);
        var text = new StringBuilder();
        foreach (int i in chosen) text.Append(lines[pool[i].Line - 1]).Append('\n');
        AtomicFile.WriteAllText(path, text.ToString());
    }

    static TrainOptions Optimization(IterateConfig.OptimizationSection o, ulong seed)
    {
        var l = o.Lora ?? new IterateConfig.LoraSection();
        return new TrainOptions
        {
            LearningRate = o.LearningRate, Epochs = o.Epochs, BatchSize = o.BatchSize, GradientAccumulation = o.GradientAccumulation,
            MaxGradNorm = o.MaxGradNorm, WarmupRatio = o.WarmupRatio, Schedule = Enum.Parse<ScheduleKind>(o.Schedule, ignoreCase: true),
            Optimizer = new AdamWOptions(WeightDecay: o.WeightDecay), Seed = seed, CheckpointEvery = o.CheckpointEvery,
            MaxLength = o.MaxLength, MaxPromptLength = o.MaxPromptLength,
            Lora = o.FullFineTuning ? null : new LoraConfig(l.R, l.Alpha, l.Dropout, l.TargetModules, l.UseRslora),
        };
    }

    static TrainJob TrainJob(IterateConfig c, string model, string pairs, string output, ScalarType dtype)
    {
        var tr = c.Train;
        var loss = new PreferenceLossOptions(Enum.Parse<PreferenceLossKind>(tr.Loss, ignoreCase: true), tr.Beta, tr.LabelSmoothing, tr.NllWeight);
        return new TrainJob(model, pairs, output, Optimization(tr, c.Seed), loss, DType: tr.FullFineTuning ? ScalarType.Float32 : dtype);
    }

    static void ScorePlot(PairReport report, string path, int t)
    {
        if (report.Scores.Count == 0) return;
        var plot = new ScottPlot.Plot();
        var histogram = ScottPlot.Statistics.Histogram.WithBinCount(20, report.Scores.Min(), Math.Max(report.Scores.Max(), report.Scores.Min() + 1e-6));
        histogram.AddRange(report.Scores);
        plot.Add.Bars(histogram.Bins, histogram.Counts);
        plot.Title($"iteration {t}: {report.Judge} judge {(report.Judge == "pairwise" ? "preferences" : "scores")} ({report.Scores.Count})");
        plot.YLabel("count");
        byte[] png = plot.GetImageBytes(700, 380, ScottPlot.ImageFormat.Png);
        AtomicFile.Write(path, s => s.Write(png));
    }
}
