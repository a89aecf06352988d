using System.Text.Json.Nodes;
using SelfAlign.Evaluation;
using SelfAlign.Pipeline;
using SelfAlign.Tests.Cli;
using Xunit;

namespace SelfAlign.Tests.Pipeline;

/// <summary>The loop with the verifier as its judge, judge rows mixed into training, and the policy evaluated on M0 and after each iteration.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class LoopEvaluationTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("selfalign-loop-eval-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Verifier_judged_loop_measures_every_model_and_reports_it()
    {
        var init = CliRunner.Run("init-model", "--config", Path.Combine(TestModels.Configs, "smollm2-135m", "config.json"),
            "--seed", "3", "--out", Path.Combine(_dir, "m0"), "--layers", "1", "--dtype", "f32");
        Assert.True(init.Code == 0, init.Err);
        string[] prompts = ["Say a b c.", "Write the word sun in upper case.", "Name a color."];
        File.WriteAllLines(Path.Combine(_dir, "prompts.jsonl"), prompts.Select((p, i) => new JsonObject { ["id"] = $"q{i}", ["prompt"] = p }.ToJsonString()));
        // About a third of the random model's responses contain a k, so the checks split each prompt's candidates.
        File.WriteAllLines(Path.Combine(_dir, "tasks.jsonl"), prompts.Select((p, i) => new JsonObject
        {
            ["id"] = $"q{i}", ["category"] = "chat", ["prompt"] = p, ["check"] = new JsonObject { ["kind"] = "comply", ["answer"] = "k" },
        }.ToJsonString()));
        File.WriteAllLines(Path.Combine(_dir, "judge.jsonl"), [new JsonObject { ["id"] = "j", ["prompt"] = "Is 'a' a letter?", ["completion"] = "Yes" }.ToJsonString()]);
        File.WriteAllText(Path.Combine(_dir, "run.json"), new JsonObject
        {
            ["name"] = "oracle", ["seed_model"] = "m0", ["prompts"] = "prompts.jsonl", ["iterations"] = 1, ["seed"] = 2, ["dtype"] = "f32",
            ["generate"] = new JsonObject { ["samples"] = 6, ["temperature"] = 1.0, ["max_new_tokens"] = 10 },
            ["judge"] = new JsonObject { ["kind"] = "verifier", ["tasks"] = "tasks.jsonl" },
            ["pair"] = new JsonObject { ["min_margin"] = 0.5 },
            ["train"] = new JsonObject
            {
                ["loss"] = "dpo", ["nll_weight"] = 1.0, ["learning_rate"] = 1e-3, ["batch_size"] = 2, ["max_length"] = 128, ["max_prompt_length"] = 64,
                ["full_fine_tuning"] = true, ["sft_mix"] = new JsonObject { ["data"] = "judge.jsonl", ["weight"] = 0.5 },
            },
            ["eval"] = new JsonObject { ["policy"] = new JsonObject { ["tasks"] = "tasks.jsonl", ["samples"] = 3 } },
        }.ToJsonString());

        var config = IterateConfig.Load(Path.Combine(_dir, "run.json"));
        string run = IterateStage.Run(config, Path.Combine(_dir, "runs"), LoopEvaluator.From(config));
        var judgments = File.ReadLines(Path.Combine(run, "iter-1", "judgments", "judgments.jsonl")).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(18, judgments.Count);
        Assert.All(judgments, j => Assert.Contains((double)j["score"]!, new[] { 0.0, 1.0 }));
        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "iter-1", "train", "manifest.json")))!;
        Assert.Equal(0.5, (double)manifest["config"]!["sft_mix"]!["weight"]!);
        Assert.Contains("sft_mix_loss", File.ReadLines(Path.Combine(run, "iter-1", "train", "metrics.jsonl")).First());
        foreach (string model in new[] { "m0", "iter-1" })
        {
            var metrics = JsonNode.Parse(File.ReadAllText(Path.Combine(run, model, "eval", "results.json")))!.AsArray();
            var sampled = metrics.First(m => (string)m!["name"]! == "policy success, sampled")!;
            Assert.Equal(9, (int)sampled["samples"]!);
            Assert.InRange((double)sampled["value"]!, (double)sampled["ci95_low"]!, (double)sampled["ci95_high"]!);
            Assert.Equal(12, File.ReadLines(Path.Combine(run, model, "eval", LoopEvaluator.PolicyResponses)).Count());
        }
        string report = File.ReadAllText(Path.Combine(run, "report.md"));
        Assert.Contains("| M0 | policy success, greedy |", report);
        Assert.Contains("| M1 | policy success, sampled |", report);
        Assert.True(File.Exists(Path.Combine(run, "evaluation.png")));
    }
}
