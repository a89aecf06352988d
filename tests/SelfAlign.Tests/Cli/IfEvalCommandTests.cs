using System.Text.Json;
using System.Text.Json.Nodes;
using SelfAlign.Evaluation;
using Xunit;

namespace SelfAlign.Tests.Cli;

/// <summary>eval ifeval: a random model answers and is scored, resumed after a kill; given responses are scored as the reference scores them.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class IfEvalCommandTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("selfalign-ifeval-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void A_model_answers_greedily_is_scored_and_resumes_after_a_kill()
    {
        string model = Path.Combine(_dir, "model"), output = Path.Combine(_dir, "run");
        var init = CliRunner.Run("init-model", "--config", Path.Combine(TestModels.Configs, "smollm2-135m", "config.json"), "--out", model, "--layers", "1", "--dtype", "f32");
        Assert.True(init.Code == 0, init.Err);
        string[] args = ["eval", "ifeval", "--model", model, "--limit", "6", "--max-new-tokens", "24", "--out", output];
        var run = CliRunner.Run(args);
        Assert.True(run.Code == 0, run.Err);
        Assert.Contains("mean of the four", run.Out);

        var strict = File.ReadAllLines(Path.Combine(output, "eval_results_strict.jsonl")).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        Assert.Equal(6, strict.Count);
        Assert.All(strict, r => Assert.Equal(["instruction_id_list", "prompt", "response", "follow_all_instructions", "follow_instruction_list"], r.Select(p => p.Key)));
        var items = IfEval.Read(IfEval.ShippedData).Take(6).ToList();
        Assert.Equal(items.Select(i => i.Prompt), strict.Select(r => (string)r["prompt"]!));
        // The written verdicts are the library's verdicts on the written responses.
        foreach (var (item, row) in items.Zip(strict))
            Assert.Equal(IfEval.Check(item, (string)row["response"]!, loose: false).Followed, row["follow_instruction_list"]!.AsArray().Select(b => (bool)b!));
        var results = JsonNode.Parse(File.ReadAllText(Path.Combine(output, "results.json")))!;
        Assert.Equal(strict.Count(r => (bool)r["follow_all_instructions"]!) / 6.0, (double)results["prompt_level_strict_acc"]!, 12);
        Assert.Equal(6, (int)results["prompts"]!);
        Assert.Contains("## Per instruction type", File.ReadAllText(Path.Combine(output, "report.md")));

        // A kill mid-generation leaves some rows and a torn line; the rerun completes the same (greedy) responses.
        string responses = Path.Combine(output, "responses.jsonl");
        Dictionary<string, string> Texts() => File.ReadAllLines(responses).Select(l => JsonNode.Parse(l)!).ToDictionary(r => (string)r["prompt_id"]!, r => (string)r["text"]!);
        var before = Texts();
        var lines = File.ReadAllLines(responses);
        File.WriteAllText(responses, string.Join('\n', lines.Take(2)) + "\n" + lines[2][..10]);
        var again = CliRunner.Run(args);
        Assert.True(again.Code == 0, again.Err);
        Assert.Equal(before.OrderBy(p => p.Key), Texts().OrderBy(p => p.Key));
        Assert.Equal(strict.Select(r => r.ToJsonString()),
            File.ReadAllLines(Path.Combine(output, "eval_results_strict.jsonl")).Select(l => JsonNode.Parse(l)!.ToJsonString()));
    }

    [Fact]
    public void Given_responses_are_scored_as_the_reference_scores_them()
    {
        var fixture = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestModels.Fixtures, "ifeval", "data.json"))).RootElement;
        var prompts = IfEval.Read(IfEval.ShippedData).ToDictionary(i => i.Key, i => i.Prompt);
        var built = fixture.GetProperty("rows").EnumerateArray().Where(r => r.GetProperty("kind").GetString() == "built").Take(40).ToList();
        string file = Path.Combine(_dir, "responses.jsonl"), output = Path.Combine(_dir, "scored");
        File.WriteAllLines(file, built.Select(r => new JsonObject
        {
            ["prompt"] = prompts[r.GetProperty("key").GetInt32()], ["response"] = r.GetProperty("response").GetString(),
        }.ToJsonString()));
        var run = CliRunner.Run("eval", "ifeval", "--responses", file, "--out", output);
        Assert.True(run.Code == 0, run.Err);
        foreach (var variant in new[] { "strict", "loose" })
        {
            var rows = File.ReadAllLines(Path.Combine(output, $"eval_results_{variant}.jsonl")).Select(l => JsonNode.Parse(l)!).ToList();
            Assert.Equal(40, rows.Count);
            var byPrompt = rows.ToDictionary(r => (string)r["prompt"]!);
            foreach (var r in built.Where(r => r.GetProperty("key").GetInt32() is not (1122 or 1129))) // their reference verdicts count a random letter
                Assert.Equal(r.GetProperty(variant).EnumerateArray().Select(b => b.GetBoolean()),
                    byPrompt[prompts[r.GetProperty("key").GetInt32()]]["follow_instruction_list"]!.AsArray().Select(b => (bool)b!));
        }
    }

    [Fact]
    public void A_response_to_an_unknown_prompt_fails_naming_its_line()
    {
        string file = Path.Combine(_dir, "responses.jsonl");
        File.WriteAllLines(file, ["{\"prompt\": \"Not an IFEval prompt.\", \"response\": \"hi\"}"]);
        var run = CliRunner.Run("eval", "ifeval", "--responses", file, "--out", Path.Combine(_dir, "out"));
        Assert.NotEqual(0, run.Code);
        Assert.Contains($"{file}:1", run.Err);
        Assert.Contains("not a prompt of the IFEval data", run.Err);
        Assert.DoesNotContain("   at ", run.Err);
    }
}
