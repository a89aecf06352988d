using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SelfAlign.Data;
using SelfAlign.IO;
using SelfAlign.Modeling;
using SelfAlign.Modeling.Lora;
using SelfAlign.Inference.Remote;
using SelfAlign.Judging;
using SelfAlign.Text;
using SelfAlign.Training;
using ScalarType = TorchSharp.torch.ScalarType;

namespace SelfAlign.Pipeline;

/// <summary>
/// The self-improvement loop: after an optional SFT stage on the seed model, for t = 1..T, the
/// current model generates candidates for its share of the prompt pool, judges them itself, the
/// judgments become pairs, and a preference loss trains the next model (the merged <c>iter-t/train/model</c>). Everything lives in
/// <c>&lt;runs&gt;/&lt;name&gt;/[sft/, m0/eval/,] iter-&lt;t&gt;/{prompts.jsonl,candidates,judgments,pairs,train,eval}</c>
/// (with an evaluator, the seed model is measured too); each stage
/// marks completion with a <c>done.json</c>, and an interrupted stage resumes from its own outputs.
/// The config and its inputs are checked before the first stage. A run started again with a
/// changed config goes on when no stage that uses the changed keys has started (so a value can
/// be corrected after a refusal), and is refused otherwise. Ends with <c>report.md</c>.
/// </summary>
public static class IterateStage
{
    const string DoneFile = "done.json";

    /// <summary>Runs (or resumes) the loop of <paramref name="config"/> under <paramref name="runsRoot"/>; returns the run folder.</summary>
    /// <param name="config">The loop's settings.</param>
    /// <param name="runsRoot">The folder of run folders.</param>
    /// <param name="evaluator">Measures each iteration's model, or null.</param>
    /// <param name="progress">Where progress goes.</param>
    /// <param name="overwrite">Delete the run folder and start again.</param>
    public static string Run(IterateConfig config, string runsRoot, IIterationEvaluator? evaluator = null, IStageProgress? progress = null, bool overwrite = false)
    {
        progress ??= SilentProgress.Instance;
        config.Validate();
        config.CheckInputs();
        evaluator?.Check();
        string run = Path.Combine(runsRoot, config.Name);
        OutputGuard.ClaimFolder(run, "iterate", [new("seed model", config.SeedModel), new("prompt pool", config.Prompts.Length > 0 ? config.Prompts : null),
            new("self-instruction seed prompts", config.SelfInstruct?.SeedPrompts), .. (config.Sft?.Data ?? []).Select(d => new NamedInput("SFT data", d)),
            new("config", config.Source),
            new("mixed SFT data", config.Train.SftMix?.Data), new("judge tasks", config.Judge.Tasks), new("policy test set", config.Eval?.Policy?.Tasks)], overwrite);
        Directory.CreateDirectory(run);
        ClaimConfig(config, run, progress);

        var pool = config.Prompts.Length > 0 ? PromptFile.Read(config.Prompts) : [];
        var dtype = config.ComputeType;
        string model = config.SeedModel;
        void Evaluate(string folder, string name)
        {
            if (evaluator is null) return;
            string current = model;
            string eval = Path.Combine(folder, "eval");
            Stage(eval, () => AtomicFile.WriteAllText(Path.Combine(eval, EvalResults),
                new JsonArray([.. evaluator.Evaluate(current, eval, progress).Select(m => (JsonNode?)m.ToJson())]).ToJsonString(Indented) + "\n"),
                progress, $"{name} evaluation");
        }
        // On servers: the name the current model is served under, and the adapters that make it from the seed model.
        var servers = config.Engine;
        string? served = servers?.Model;
        var adapters = new List<string>();
        void Serve(string stage, string train)
        {
            if (servers is null) return;
            adapters.Add(Path.Combine(train, "adapter"));
            string stacked = Path.Combine(train, "served-adapter");
            if (!File.Exists(Path.Combine(stacked, PeftAdapter.ConfigFile))) WriteStack(config.SeedModel, adapters, stacked);
            served = $"{config.Name}-{stage}";
            string seen = servers.AdapterRoot is { } root ? Path.Combine(root, Path.GetRelativePath(run, stacked)).Replace('\\', '/') : stacked;
            progress.Note($"loading adapter {served} onto the servers");
            ServedAdapters.Load(servers.Options(null), served, seen);
        }
        RemoteEngineOptions? On(string? name) => servers?.Options(name);
        if (config.Sft is { } sft)
        {
            string output = Path.Combine(run, "sft");
            Stage(output, () => TrainStage.Run(new TrainJob(model, SftData(sft, run), output, config.TrainOptions(sft), Loss: null,
                DType: sft.FullFineTuning ? ScalarType.Float32 : dtype, TemplateArgs: config.TemplateArgs), progress), progress, "SFT");
            model = Path.Combine(output, "model");
            Serve("sft", output);
        }
        Evaluate(Path.Combine(run, "m0"), "M0");
        // A policy trained on pairs forgets how to categorize, and a prompt's category does not
        // change with the policy: the model the loop starts from categorizes in every iteration.
        string categorizer = model;
        string? servedCategorizer = served;
        for (int t = 1; t <= config.Iterations; t++)
        {
            string iter = Path.Combine(run, $"iter-{t}");
            progress.Note($"iteration {t} of {config.Iterations}: model {model}");
            string prompts = Path.Combine(iter, "prompts.jsonl");
            string? written = null;
            if (config.SelfInstruct is { } si)
            {
                written = Path.Combine(iter, "self-instruct", "prompts.jsonl");
                string writer = si.Model switch { "current" => model, "start" => categorizer, _ => si.Model };
                var earlier = Enumerable.Range(1, t - 1).Select(e => Path.Combine(run, $"iter-{e}", "self-instruct", "prompts.jsonl")).Where(File.Exists).ToList();
                var job = new SelfInstructJob(writer, config.SelfInstructSeeds!, written, si.Options(config.Seed + (ulong)t, t), dtype, Earlier: earlier);
                Stage(Path.Combine(iter, "self-instruct"), () => SelfInstructStage.Run(job, progress), progress, $"iter-{t} self-instruction");
            }
            Stage(iter, () => WritePrompts(pool, config, t, written, prompts), progress, $"iter-{t} prompts");

            string candidates = Path.Combine(iter, "candidates", "candidates.jsonl");
            var g = config.Generate;
            Stage(Path.Combine(iter, "candidates"), () => GenerateStage.Run(new GenerateJob(model, prompts, candidates, g.Samples,
                config.Sampling, config.Seed + (ulong)t, g.BatchSize, TemplateArgs: config.TemplateArgs, DType: dtype, Engine: On(served)), progress), progress, $"iter-{t} candidates");

            string judgments = Path.Combine(iter, "judgments", "judgments.jsonl");
            var j = config.Judge;
            Stage(Path.Combine(iter, "judgments"), () => JudgeStage.Run(new JudgeJob(model, candidates, judgments,
                new CandidateJudgeOptions(j.JudgeKind, j.Prompts, j.Format == "plain" ? JudgeFormat.Plain : JudgeFormat.Chat,
                    j.Category, j.AdditiveSamples, config.Seed + (ulong)t, j.Tasks, j.Command), dtype, j.BatchTokens, CategoryModel: categorizer,
                TemplateArgs: config.TemplateArgs, Engine: On(served), CategoryEngine: On(servedCategorizer)), progress), progress, $"iter-{t} judgments");

            string pairs = Path.Combine(iter, "pairs", "pairs.jsonl");
            Stage(Path.Combine(iter, "pairs"), () => PairStage.Run(candidates, judgments, pairs, config.Pair.Rule),
                progress, $"iter-{t} pairs");

            string train = Path.Combine(iter, "train");
            if (File.ReadLines(pairs).Any(l => l.Length > 0))
            {
                var tr = config.Train;
                Stage(train, () => TrainStage.Run(new TrainJob(model, pairs, train, config.TrainOptions(tr), config.LossOptions,
                    DType: tr.FullFineTuning ? ScalarType.Float32 : dtype, Mix: tr.SftMix?.Mix, TemplateArgs: config.TemplateArgs), progress), progress, $"iter-{t} training");
                model = Path.Combine(train, "model");
                Serve($"iter-{t}", train);
            }
            else progress.Note($"iter-{t}: no pairs, so no training; the next iteration keeps {model}");

            Evaluate(iter, $"iter-{t}");
        }
        IterateReport.Write(run, config);
        return run;
    }

    /// <summary>Writes the one adapter that, on the seed model, makes the model these adapters were trained into in turn.</summary>
    static void WriteStack(string seedModel, IReadOnlyList<string> adapters, string folder)
    {
        var config = ModelConfig.Load(Path.Combine(seedModel, ModelFolder.ConfigFile));
        var loaded = adapters.Select(a => PeftAdapter.Load(a, config)).ToList();
        try
        {
            using var stacked = AdapterStack.Stack(loaded);
            PeftAdapter.Save(stacked, folder, seedModel);
        }
        finally
        {
            foreach (var a in loaded) a.Dispose();
        }
    }

    /// <summary>The file of an iteration's evaluation metrics, in its eval folder.</summary>
    public const string EvalResults = "results.json";

    static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>
    /// Records the config in the run's manifest, or checks it against the one there: a key may
    /// change only while no stage that uses it has started.
    /// </summary>
    static void ClaimConfig(IterateConfig config, string run, IStageProgress progress)
    {
        var now = config.ToJson();
        if (config.Prompts.Length > 0) now["prompts_sha256"] = RunManifest.FileSha256(config.Prompts);
        if (config.SelfInstruct?.SeedPrompts is { } seeds) now["self_instruct_seed_sha256"] = RunManifest.FileSha256(seeds);
        if (config.Sft is { Data: var data })
            now["sft_data_sha256"] = data.Length == 1 ? RunManifest.FileSha256(data[0]) : new JsonArray([.. data.Select(d => (JsonNode?)RunManifest.FileSha256(d))]);
        if (config.Train.SftMix is { } mix) now["train_sft_mix_sha256"] = RunManifest.FileSha256(mix.Data);
        if (config.Judge.Tasks is { } tasks) now["judge_tasks_sha256"] = RunManifest.FileSha256(tasks);
        if (config.Eval?.Policy is { } policy) now["eval_policy_sha256"] = RunManifest.FileSha256(policy.Tasks);
        string path = Path.Combine(run, OutputGuard.FolderManifest);
        var before = RunManifest.Read(path)?["config"] as JsonObject;
        if (before is not null)
        {
            var changes = RunManifest.Differences(before, now).ToList();
            if (changes.Count == 0) return;
            foreach (var (key, was, will) in changes)
                if (StartedUsers(run, key).FirstOrDefault() is string used)
                    throw config.Error(key, $"changed from {was} to {will}, but {used} has already used it; put the old value back to resume, " +
                        "delete that folder to redo it with the new value, or start a new run (another name, or --overwrite)");
            progress.Note($"config changed ({string.Join(", ", changes.Select(c => $"{c.Key}: {c.Was} -> {c.Now}"))}); no stage that uses it has started");
        }
        RunManifest.Write(path, "iterate", now);
    }

    /// <summary>The stage folders of the run that have started and use the config key <paramref name="key"/>.</summary>
    static IEnumerable<string> StartedUsers(string run, string key)
    {
        var iterations = Directory.GetDirectories(run, "iter-*").Order(StringComparer.Ordinal).ToArray();
        IEnumerable<string> Within(string stage) => iterations.Select(i => Path.Combine(i, stage)).Where(Directory.Exists);
        string section = key.Split('.', '[')[0];
        return section switch
        {
            "iterations" => [],
            "sft" or "sft_data_sha256" => new[] { Path.Combine(run, "sft") }.Where(Directory.Exists),
            "train_sft_mix_sha256" => Within("train"),
            "judge_tasks_sha256" => Within("judgments"),
            "self_instruct" or "self_instruct_seed_sha256" => Within("self-instruct"),
            "eval_policy_sha256" => Within("eval").Concat(new[] { Path.Combine(run, "m0", "eval") }.Where(Directory.Exists)),
            "generate" => Within("candidates"),
            "judge" => Within("judgments"),
            "pair" => Within("pairs"),
            "train" => Within("train"),
            "eval" => Within("eval").Concat(new[] { Path.Combine(run, "m0", "eval") }.Where(Directory.Exists)),
            // The seed model, the prompt pool, the seed and the dtype shape every stage.
            _ => new[] { Path.Combine(run, "sft") }.Where(Directory.Exists).Concat(iterations),
        };
    }

    /// <summary>The SFT stage's data: its one file, or its files joined into <c>sft-data.jsonl</c> of the run.</summary>
    static string SftData(IterateConfig.SftSection sft, string run)
    {
        if (sft.Data.Length == 1) return sft.Data[0];
        string joined = Path.Combine(run, "sft-data.jsonl");
        var text = new StringBuilder();
        foreach (string file in sft.Data)
            foreach (string line in File.ReadLines(file).Where(l => l.Trim().Length > 0)) text.Append(line).Append('\n');
        AtomicFile.WriteAllText(joined, text.ToString());
        return joined;
    }

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

    /// <summary>The iteration's prompts: its slice of the pool, then the prompts the model wrote for it (if any).</summary>
    static void WritePrompts(List<PromptRow> pool, IterateConfig config, int t, string? written, string path)
    {
        var text = new StringBuilder();
        if (pool.Count > 0) AppendSlice(pool, config, t, text);
        if (written is not null) foreach (string line in File.ReadLines(written).Where(l => l.Length > 0)) text.Append(line).Append('\n');
        if (text.Length == 0)
            throw new DataFormatException(written!, 1, $"holds no prompt for iteration {t}: every task the model wrote was filtered out; " +
                "give the loop a prompt pool, or delete that folder and change self_instruct (temperature, max_similarity, model)");
        AtomicFile.WriteAllText(path, text.ToString());
    }

    static void AppendSlice(List<PromptRow> pool, IterateConfig config, int t, StringBuilder text)
    {
        int k = config.PromptsPerIteration == 0 ? pool.Count : Math.Min(config.PromptsPerIteration, pool.Count);
        var order = Enumerable.Range(0, pool.Count).ToArray();
        new Random((int)(config.Seed % int.MaxValue)).Shuffle(order);
        // Disjoint slices of one seeded shuffle; a pool too small for all iterations wraps around.
        var chosen = config.PromptsPerIteration == 0 ? order : Enumerable.Range((t - 1) * k, k).Select(i => order[i % pool.Count]).ToArray();
        var lines = File.ReadAllLines(config.Prompts);
        foreach (int i in chosen) text.Append(lines[pool[i].Line - 1]).Append('\n');
    }
}
