using System.Text.Json;
using System.Text.Json.Nodes;
using SelfAlign.IO;
using SelfAlign.Pipeline;
using SelfAlign.Tests.Cli;
using Xunit;

namespace SelfAlign.Tests.Pipeline;

/// <summary>The loop end to end on a random-weight model with the real SmolLM2 tokenizer: SFT and two iterations, an interruption and a real kill in every stage, a changed config.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class IterateTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("selfalign-iterate-").FullName;
    readonly string _config;

    public IterateTests()
    {
        string model = Path.Combine(_dir, "m0");
        var init = CliRunner.Run("init-model", "--config", Path.Combine(TestModels.Configs, "smollm2-135m", "config.json"),
            "--seed", "2", "--out", model, "--layers", "2", "--dtype", "f32");
        Assert.True(init.Code == 0, init.Err);
        File.WriteAllLines(Path.Combine(_dir, "sft.jsonl"), File.ReadLines(Path.Combine(AppContext.BaseDirectory, "data", "seed", "sft_sample.jsonl")).Take(4));
        _config = Path.Combine(_dir, "run.json");
        File.WriteAllText(_config, Config("demo", beta: 0.1).ToJsonString());
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    JsonObject Config(string name, double beta) => new()
    {
        ["name"] = name,
        ["seed_model"] = "m0",
        ["prompts"] = Path.Combine(AppContext.BaseDirectory, "data", "seed", "prompts_sample.jsonl"),
        ["prompts_per_iteration"] = 3,
        ["iterations"] = 2,
        ["seed"] = 4,
        ["dtype"] = "f32",
        ["generate"] = new JsonObject { ["samples"] = 3, ["temperature"] = 1.0, ["top_k"] = 40, ["max_new_tokens"] = 12, ["batch_size"] = 9 },
        ["judge"] = new JsonObject { ["kind"] = "yesno" },
        ["template_args"] = new JsonObject { ["enable_thinking"] = false },
        ["sft"] = new JsonObject
        {
            ["data"] = "sft.jsonl", ["learning_rate"] = 1e-3, ["batch_size"] = 2, ["checkpoint_every"] = 1, ["max_length"] = 256, ["max_prompt_length"] = 160,
            ["lora"] = new JsonObject { ["r"] = 4, ["alpha"] = 8 },
        },
        ["train"] = new JsonObject
        {
            ["loss"] = "dpo", ["beta"] = beta, ["nll_weight"] = 0.2, ["learning_rate"] = 1e-3, ["batch_size"] = 1, ["epochs"] = 2,
            ["checkpoint_every"] = 1, ["max_length"] = 256, ["max_prompt_length"] = 160, ["lora"] = new JsonObject { ["r"] = 4, ["alpha"] = 8 },
        },
    };

    /// <summary>Progress that dies at the n-th report of the named bar, the way a kill leaves that stage half done.</summary>
    sealed class DieIn(string bar, int nth) : IStageProgress, IProgressTask
    {
        string _current = "";
        int _count;
        public IProgressTask Begin(string description, double total)
        {
            _current = description;
            return Tick();
        }
        public void Note(string message) { }
        public void Increment(double amount) => Tick();
        public void Describe(string description) { }
        DieIn Tick() => _current.StartsWith(bar) && ++_count == nth ? throw new OperationCanceledException(bar) : this;
    }

    [Fact]
    public void TwoIterationsRunEndToEndAndResumeFromInterruptionsAndKillsInEveryStage()
    {
        var config = IterateConfig.Load(_config);
        string straight = IterateStage.Run(config, Path.Combine(_dir, "straight"));
        foreach (int t in new[] { 1, 2 })
        {
            string iter = Path.Combine(straight, $"iter-{t}");
            Assert.Equal(3, File.ReadLines(Path.Combine(iter, "prompts.jsonl")).Count());
            Assert.Equal(9, File.ReadLines(Path.Combine(iter, "candidates", "candidates.jsonl")).Count());
            Assert.Equal(9, File.ReadLines(Path.Combine(iter, "judgments", "judgments.jsonl")).Count());
            var report = JsonNode.Parse(File.ReadAllText(Path.Combine(iter, "pairs", "pairs.report.json")))!;
            int pairs = (int)report["pairs"]!;
            Assert.Equal(3, pairs + report["no_pair"]!.AsObject().Sum(kv => (int)kv.Value!));
            Assert.True(pairs > 0);
            Assert.True(File.Exists(Path.Combine(iter, "train", "adapter", "adapter_model.safetensors")));
            Assert.True(File.Exists(Path.Combine(iter, "train", "model", "model.safetensors")));
            Assert.True(File.Exists(Path.Combine(iter, "train", "plots", "rewards.png")));
        }
        // SFT trains M0 into the model of iteration 1; iteration 2 samples from iteration 1's merged model, on other prompts.
        Assert.Equal(2, File.ReadLines(Path.Combine(straight, "sft", "metrics.jsonl")).Count());
        var first = JsonNode.Parse(File.ReadAllText(Path.Combine(straight, "iter-1", "candidates", "candidates.jsonl.manifest.json")))!;
        Assert.EndsWith(Path.Combine("sft", "model"), (string)first["config"]!["model"]!);
        // The template variables reach every stage that renders a prompt.
        foreach (string manifest in new[] { Path.Combine("candidates", "candidates.jsonl.manifest.json"), Path.Combine("judgments", "judgments.jsonl.manifest.json"),
                     Path.Combine("train", SelfAlign.IO.OutputGuard.FolderManifest) })
            Assert.False((bool)JsonNode.Parse(File.ReadAllText(Path.Combine(straight, "iter-1", manifest)))!["config"]!["template_args"]!["enable_thinking"]!);
        var generated = JsonNode.Parse(File.ReadAllText(Path.Combine(straight, "iter-2", "candidates", "candidates.jsonl.manifest.json")))!;
        Assert.EndsWith(Path.Combine("iter-1", "train", "model"), (string)generated["config"]!["model"]!);
        Assert.NotEqual(File.ReadAllText(Path.Combine(straight, "iter-1", "prompts.jsonl")), File.ReadAllText(Path.Combine(straight, "iter-2", "prompts.jsonl")));
        string md = File.ReadAllText(Path.Combine(straight, "report.md"));
        Assert.Contains("| 2 | 3 |", md);
        Assert.Contains("iter-1/train/plots/loss.png", md);
        Assert.Contains("## SFT before iteration 1", md);

        string resumedRoot = Path.Combine(_dir, "resumed"), resumed = Path.Combine(resumedRoot, config.Name);
        // SFT is cut after its first step, then each stage of each iteration once: generation after some rows, judging
        // after its rows but before the stage is marked done, the reference pass as it starts, training after its first step.
        (string Bar, int Nth)[] cuts = [("generating", 5), ("judging", 2), ("reference", 1), ("training", 2)];
        foreach (var (bar, nth) in cuts.Prepend(("training", 2)).Concat(cuts))
            Assert.Throws<OperationCanceledException>(() => IterateStage.Run(config, resumedRoot, progress: new DieIn(bar, nth)));
        IterateStage.Run(config, resumedRoot);
        AssertSameOutcome(straight, resumed);

        // The same run killed with SIGKILL once inside every stage, evaluation included, each time started again.
        var withEval = Config("demo", beta: 0.1);
        withEval["eval"] = new JsonObject { ["prefbench"] = new JsonArray(Path.Combine(AppContext.BaseDirectory, "data", "prefbench", "llmbar-natural.jsonl")), ["limit_per_subset"] = 3 };
        string killConfig = Path.Combine(_dir, "run-killed.json"), killedRoot = Path.Combine(_dir, "killed"), killed = Path.Combine(killedRoot, config.Name);
        File.WriteAllText(killConfig, withEval.ToJsonString());
        bool Started(string file) => File.Exists(Path.Combine(killed, file));
        bool Wrote(string file) => Started(file) && new FileInfo(Path.Combine(killed, file)).Length > 0;
        bool Done(string folder) => Started(Path.Combine(folder, "done.json"));
        var points = new List<KillPoint>
        {
            new("SFT training", () => Wrote("sft/metrics.jsonl") && !Done("sft")),
            new("M0 evaluation", () => Directory.Exists(Path.Combine(killed, "m0", "eval")) && !Done("m0/eval")),
        };
        foreach (int t in new[] { 1, 2 })
        {
            string i = $"iter-{t}";
            points.Add(new($"{i} generation", () => Wrote($"{i}/candidates/candidates.jsonl") && !Done($"{i}/candidates")));
            points.Add(new($"{i} judging", () => Started($"{i}/judgments/judgments.jsonl.manifest.json") && !Done($"{i}/judgments")));
            points.Add(new($"{i} reference pass", () => Started($"{i}/train/reference_logps.jsonl") && !Started($"{i}/train/metrics.jsonl")));
            points.Add(new($"{i} training", () => Wrote($"{i}/train/metrics.jsonl") && !Done($"{i}/train")));
            points.Add(new($"{i} evaluation", () => Directory.Exists(Path.Combine(killed, i, "eval")) && !Done($"{i}/eval")));
        }
        var (hit, code, output) = KillEachStage.Run(points, "iterate", "--config", killConfig, "--runs", killedRoot, "--threads", "1");
        Assert.True(code == 0, output);
        Assert.Equal(points.Select(p => p.Name), hit);
        AssertSameOutcome(straight, killed);
        Assert.Contains("## Evaluation of each model", File.ReadAllText(Path.Combine(killed, "report.md")));
    }

    /// <summary>Batch shapes differ between an interrupted and a straight run, so float32 sums may differ in the last digit; what was sampled and paired may not.</summary>
    static void AssertSameOutcome(string straight, string other)
    {
        foreach (int t in new[] { 1, 2 })
        {
            Assert.Equal(Stable(straight, t, "candidates/candidates.jsonl", "prompt_id", "sample", "text"), Stable(other, t, "candidates/candidates.jsonl", "prompt_id", "sample", "text"));
            Assert.Equal(Stable(straight, t, "pairs/pairs.jsonl", "id", "chosen", "rejected"), Stable(other, t, "pairs/pairs.jsonl", "id", "chosen", "rejected"));
            var scores = (Scores(straight, t), Scores(other, t));
            Assert.Equal(scores.Item1.Keys.Order(), scores.Item2.Keys.Order());
            foreach (var (key, score) in scores.Item1) Assert.Equal(score, scores.Item2[key], 1e-4);
        }
        Assert.True(File.Exists(Path.Combine(other, "report.md")));
    }

    static string[] Stable(string run, int t, string file, params string[] fields) =>
        File.ReadLines(Path.Combine(run, $"iter-{t}", file)).Select(l => JsonNode.Parse(l)!)
            .Select(r => string.Join("|", fields.Select(f => r[f]!.ToJsonString()))).Order().ToArray();

    static Dictionary<string, double> Scores(string run, int t) =>
        File.ReadLines(Path.Combine(run, $"iter-{t}", "judgments", "judgments.jsonl")).Select(l => JsonNode.Parse(l)!)
            .ToDictionary(r => $"{r["prompt_id"]}|{r["sample"]}", r => (double)r["score"]!);

    [Fact]
    public void AChangedConfigIsRefusedAndBadFieldsAreNamed()
    {
        var run = CliRunner.Run("iterate", "--config", _config, "--runs", Path.Combine(_dir, "runs"), "--threads", "1");
        Assert.True(run.Code == 0, run.Err + run.Out);
        File.WriteAllText(_config, Config("demo", beta: 0.2).ToJsonString());
        var changed = CliRunner.Run("iterate", "--config", _config, "--runs", Path.Combine(_dir, "runs"));
        Assert.NotEqual(0, changed.Code);
        Assert.Contains("beta", changed.Err);

        var bad = Config("demo", 0.1);
        bad["train"]!["loss"] = "pso";
        File.WriteAllText(_config, bad.ToJsonString());
        var error = Assert.Throws<SelfAlign.Data.DataFormatException>(() => IterateConfig.Load(_config));
        Assert.Contains("train.loss", error.Message);
        File.WriteAllText(_config, "{\"name\": \"x\",\n \"seed_model\": \"m0\", \"prompts\": \"p\", \"typo\": 1}");
        error = Assert.Throws<SelfAlign.Data.DataFormatException>(() => IterateConfig.Load(_config));
        Assert.Contains("typo", error.Message);

        // A decay floor is read into the stage's options, and one at or above the peak is named.
        var floored = Config("demo", 0.1);
        floored["train"]!["min_learning_rate"] = 1e-4;
        File.WriteAllText(_config, floored.ToJsonString());
        var config = IterateConfig.Load(_config);
        Assert.Equal(1e-4, config.TrainOptions(config.Train).MinLearningRate);
        Assert.Equal(0, config.TrainOptions(config.Sft!).MinLearningRate);
        floored["train"]!["min_learning_rate"] = 1e-3;
        File.WriteAllText(_config, floored.ToJsonString());
        error = Assert.Throws<SelfAlign.Data.DataFormatException>(() => IterateConfig.Load(_config));
        Assert.Contains("min_learning_rate", error.Message);
    }

    [Fact]
    public void SelfInstructionWritesEachIterationsPromptsFromTheCurrentModel()
    {
        var config = Config("self-made", beta: 0.1);
        config.Remove("prompts");
        config.Remove("sft");
        config["self_instruct"] = new JsonObject
        {
            ["seed_prompts"] = Path.Combine(AppContext.BaseDirectory, "data", "seed", "prompts_sample.jsonl"), ["per_iteration"] = 2, ["max_new_tokens"] = 24,
        };
        File.WriteAllText(_config, config.ToJsonString());
        string run = IterateStage.Run(IterateConfig.Load(_config), Path.Combine(_dir, "runs"));
        foreach (int t in new[] { 1, 2 })
        {
            string iter = Path.Combine(run, $"iter-{t}");
            var written = File.ReadAllLines(Path.Combine(iter, "self-instruct", "prompts.jsonl"));
            Assert.Equal(written, File.ReadAllLines(Path.Combine(iter, "prompts.jsonl")));
            Assert.Equal(2, written.Length);
            Assert.All(written, l => Assert.StartsWith($"iter-{t}-self-instruct-", (string)JsonNode.Parse(l)!["id"]!));
            Assert.Equal(6, File.ReadLines(Path.Combine(iter, "candidates", "candidates.jsonl")).Count());
        }
        // Iteration 2's prompts come from iteration 1's trained model, which imitates and avoids iteration 1's prompts too.
        var second = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "iter-2", "self-instruct", "prompts.jsonl.manifest.json")))!["config"]!;
        Assert.EndsWith(Path.Combine("iter-1", "train", "model"), (string)second["model"]!);
        Assert.EndsWith(Path.Combine("iter-1", "self-instruct", "prompts.jsonl"), (string)second["earlier_prompts"]![0]!);
        Assert.Contains("Prompts: 2 per iteration written by the current model", File.ReadAllText(Path.Combine(run, "report.md")));

        // With a pool as well, each iteration gets its slice of the pool and then the model's prompts.
        config["prompts"] = Path.Combine(AppContext.BaseDirectory, "data", "seed", "prompts_sample.jsonl");
        config["name"] = "both";
        config["iterations"] = 1;
        File.WriteAllText(_config, config.ToJsonString());
        string both = IterateStage.Run(IterateConfig.Load(_config), Path.Combine(_dir, "runs"));
        var ids = File.ReadLines(Path.Combine(both, "iter-1", "prompts.jsonl")).Select(l => (string)JsonNode.Parse(l)!["id"]!).ToList();
        Assert.Equal(5, ids.Count);
        Assert.Equal(2, ids.Count(id => id.StartsWith("iter-1-self-instruct-")));

        config["self_instruct"]!["per_iteration"] = 0;
        File.WriteAllText(_config, config.ToJsonString());
        Assert.Contains("self_instruct.per_iteration", Assert.Throws<SelfAlign.Data.DataFormatException>(() => IterateConfig.Load(_config)).Message);
    }

    [Fact]
    public void SftDataFromSeveralFilesIsTrainedOnAsOne()
    {
        File.WriteAllLines(Path.Combine(_dir, "eft.jsonl"), File.ReadLines(Path.Combine(AppContext.BaseDirectory, "data", "seed", "sft_sample.jsonl")).Skip(4).Take(2));
        var config = Config("joined", beta: 0.1);
        config["iterations"] = 1;
        config["sft"]!["data"] = new JsonArray("sft.jsonl", "eft.jsonl");
        File.WriteAllText(_config, config.ToJsonString());
        string run = IterateStage.Run(IterateConfig.Load(_config), Path.Combine(_dir, "runs"));
        Assert.Equal(File.ReadLines(Path.Combine(_dir, "sft.jsonl")).Concat(File.ReadLines(Path.Combine(_dir, "eft.jsonl"))),
            File.ReadLines(Path.Combine(run, "sft-data.jsonl")));
        Assert.Equal(3, File.ReadLines(Path.Combine(run, "sft", "metrics.jsonl")).Count());
        Assert.Equal(2, JsonNode.Parse(File.ReadAllText(Path.Combine(run, OutputGuard.FolderManifest)))!["config"]!["sft_data_sha256"]!.AsArray().Count);
        Assert.Contains("`sft.jsonl` + `eft.jsonl`", File.ReadAllText(Path.Combine(run, "report.md")));

        config["sft"]!["data"] = new JsonArray("sft.jsonl", "missing.jsonl");
        File.WriteAllText(_config, config.ToJsonString());
        Assert.Contains("'sft.data[1]' cannot be read", Assert.Throws<SelfAlign.Data.DataFormatException>(() => IterateConfig.Load(_config).CheckInputs()).Message);
    }

    [Fact]
    public void Every_policy_evaluation_runs_on_M0_and_after_each_iteration()
    {
        string shipped = Path.Combine(AppContext.BaseDirectory, "data", "mt-bench"), mt = Path.Combine(_dir, "mt-bench");
        Directory.CreateDirectory(mt);
        foreach (string file in new[] { "question.jsonl", "judge_prompts.jsonl", "reference_answer_gpt-4.jsonl" }) File.Copy(Path.Combine(shipped, file), Path.Combine(mt, file));
        File.WriteAllLines(Path.Combine(_dir, "choice.jsonl"), [
            "{\"id\": \"q1\", \"context\": \"The sky is\", \"choices\": [\"blue\", \"green\"], \"answer\": 0}",
            "{\"id\": \"q2\", \"context\": \"Two plus two is\", \"choices\": [\"four\", \"five\"], \"answer\": 0}"]);
        var config = Config("evaluated", beta: 0.1);
        config.Remove("sft");
        config["iterations"] = 1;
        config["eval"] = new JsonObject
        {
            ["choice"] = new JsonArray("choice.jsonl"),
            ["mtbench"] = new JsonObject { ["data"] = "mt-bench", ["judge"] = "m0", ["turns"] = 1, ["limit"] = 1, ["max_new_tokens"] = 6, ["judge_max_new_tokens"] = 6 },
            ["winrate"] = new JsonObject { ["prompts"] = Path.Combine(AppContext.BaseDirectory, "data", "seed", "prompts_sample.jsonl"), ["against"] = "m0", ["limit"] = 2, ["max_new_tokens"] = 6 },
            ["ifeval"] = new JsonObject { ["limit"] = 3, ["max_new_tokens"] = 6 },
            ["bbh"] = new JsonObject { ["tasks"] = new JsonArray("navigate", "word_sorting"), ["limit"] = 2, ["max_new_tokens"] = 6 },
        };
        File.WriteAllText(_config, config.ToJsonString());
        string run = IterateStage.Run(IterateConfig.Load(_config), Path.Combine(_dir, "runs"), SelfAlign.Evaluation.LoopEvaluator.From(IterateConfig.Load(_config)));
        foreach (string model in new[] { "m0", "iter-1" })
        {
            var names = JsonNode.Parse(File.ReadAllText(Path.Combine(run, model, "eval", IterateStage.EvalResults)))!.AsArray().Select(m => (string)m!["name"]!).ToList();
            Assert.Contains("multiple choice acc_norm, choice", names);
            Assert.Contains("MT-Bench answers without a rating", names);
            Assert.Contains("win rate against m0 (ties half)", names);
            Assert.Contains("IFEval prompt-level accuracy, strict", names);
            Assert.Contains("BBH exact match (flexible-extract)", names);
            Assert.Equal(3, File.ReadAllLines(Path.Combine(run, model, "eval", "ifeval", "eval_results_loose.jsonl")).Length);
            Assert.Equal(4, File.ReadAllLines(Path.Combine(run, model, "eval", "bbh", "items.jsonl")).Length);
            Assert.True(File.Exists(Path.Combine(run, model, "eval", "mtbench", "scores.jsonl")));
            Assert.Equal(2, File.ReadAllLines(Path.Combine(run, model, "eval", "winrate", "judgments.jsonl")).Length);
        }
        // M0 against itself answers the same, so every comparison is a tie.
        var m0 = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "m0", "eval", "winrate", "results.json")))!;
        Assert.Equal(2, (int)m0["tie"]!["count"]!);
        Assert.Contains("multiple choice acc_norm, choice", File.ReadAllText(Path.Combine(run, "report.md")));
        Assert.Contains("IFEval, mean of the four accuracies", File.ReadAllText(Path.Combine(run, "report.md")));
    }
}
