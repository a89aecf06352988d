using System.Text.Json.Nodes;
using Xunit;

namespace SelfAlign.Tests.Cli;

/// <summary>eval winrate on random model folders: against a model and against a reference field, resumed, and refused with bad input.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class WinRateCommandTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("selfalign-winrate-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string Model(string name, int seed)
    {
        string model = Path.Combine(_dir, name);
        var init = CliRunner.Run("init-model", "--config", Path.Combine(TestModels.Configs, "smollm2-135m", "config.json"), "--out", model, "--layers", "1",
            "--dtype", "f32", "--seed", seed.ToString());
        Assert.True(init.Code == 0, init.Err);
        return model;
    }

    [Fact]
    public void Compares_two_models_and_a_reference_field_and_resumes()
    {
        string a = Model("a", 1), b = Model("b", 2), output = Path.Combine(_dir, "ab");
        string prompts = Path.Combine(AppContext.BaseDirectory, "data", "seed", "prompts_sample.jsonl");
        string[] args = ["eval", "winrate", "--model", a, "--against", b, "--judge", b, "--prompts", prompts, "--limit", "4", "--max-new-tokens", "8", "--out", output];
        var run = CliRunner.Run(args);
        Assert.True(run.Code == 0, run.Err);
        var results = JsonNode.Parse(File.ReadAllText(Path.Combine(output, "results.json")))!;
        Assert.Equal(4, (int)results["comparisons"]!);
        Assert.Equal(4, (int)results["win"]!["count"]! + (int)results["tie"]!["count"]! + (int)results["loss"]!["count"]!);
        var judgments = File.ReadAllLines(Path.Combine(output, "judgments.jsonl")).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(4, judgments.Count);
        // Each row's verdict follows from its two preferences.
        Assert.All(judgments, j => Assert.Equal(
            (double)j["a_first_preference"]! > 0.5 && (double)j["a_second_preference"]! > 0.5 ? 1 : (double)j["a_first_preference"]! < 0.5 && (double)j["a_second_preference"]! < 0.5 ? -1 : 0,
            (int)j["verdict"]!));
        Assert.Contains("win rate (ties half)", run.Out);

        // A rerun judges nothing again and reports the same numbers; changed settings are refused.
        string before = File.ReadAllText(Path.Combine(output, "judgments.jsonl"));
        var again = CliRunner.Run(args);
        Assert.True(again.Code == 0, again.Err);
        Assert.Equal(before, File.ReadAllText(Path.Combine(output, "judgments.jsonl")));
        Assert.Equal(results.ToJsonString(), JsonNode.Parse(File.ReadAllText(Path.Combine(output, "results.json")))!.ToJsonString());
        var changed = CliRunner.Run([.. args.Select(x => x == "8" ? "9" : x)]);
        Assert.NotEqual(0, changed.Code);

        // Against reference answers held in the prompt rows.
        string withReference = Path.Combine(_dir, "reference.jsonl");
        File.WriteAllLines(withReference, ["{\"id\": \"r1\", \"prompt\": \"Name a color.\", \"output\": \"Blue.\"}",
            "{\"id\": \"r2\", \"prompt\": \"Say hi.\", \"output\": \"Hi!\"}"]);
        var reference = CliRunner.Run("eval", "winrate", "--model", a, "--reference-field", "output", "--prompts", withReference, "--max-new-tokens", "8",
            "--out", Path.Combine(_dir, "ref"));
        Assert.True(reference.Code == 0, reference.Err);
        Assert.Equal(2, File.ReadAllLines(Path.Combine(_dir, "ref", "judgments.jsonl")).Length);
        Assert.Equal(4.0, (double)JsonNode.Parse(File.ReadAllText(Path.Combine(_dir, "ref", "results.json")))!["mean_length_b"]!);
        Assert.False(File.Exists(Path.Combine(_dir, "ref", "responses-b.jsonl")));

        // AlpacaEval's shape: the prompt in 'instruction', the baseline's answer in its own field.
        string alpaca = Path.Combine(_dir, "alpaca.jsonl");
        File.WriteAllLines(alpaca, ["{\"id\": \"alpaca-eval-0\", \"instruction\": \"Name a color.\", \"reference_gpt4_1106_preview\": \"Blue, for one.\"}",
            "{\"id\": \"alpaca-eval-1\", \"instruction\": \"Say hi.\", \"reference_gpt4_1106_preview\": \"Hello!\"}"]);
        var shaped = CliRunner.Run("eval", "winrate", "--model", a, "--prompts", alpaca, "--prompt-field", "instruction", "--reference-field", "reference_gpt4_1106_preview",
            "--max-new-tokens", "8", "--out", Path.Combine(_dir, "alpaca"));
        Assert.True(shaped.Code == 0, shaped.Err);
        Assert.Equal(["Name a color.", "Say hi."], File.ReadAllLines(Path.Combine(_dir, "alpaca", "prompts.jsonl")).Select(l => (string)JsonNode.Parse(l)!["prompt"]!));
        Assert.Equal(10.0, (double)JsonNode.Parse(File.ReadAllText(Path.Combine(_dir, "alpaca", "results.json")))!["mean_length_b"]!);

        File.AppendAllLines(withReference, ["{\"id\": \"r3\", \"prompt\": \"Count to three.\"}"]);
        var missing = CliRunner.Run("eval", "winrate", "--model", a, "--reference-field", "output", "--prompts", withReference, "--out", Path.Combine(_dir, "ref2"));
        Assert.NotEqual(0, missing.Code);
        Assert.Contains("reference.jsonl:3", missing.Err);
        var both = CliRunner.Run("eval", "winrate", "--model", a, "--against", b, "--reference-field", "output", "--prompts", withReference, "--out", Path.Combine(_dir, "x"));
        Assert.NotEqual(0, both.Code);
        Assert.Contains("exactly one", both.Err);
    }
}
