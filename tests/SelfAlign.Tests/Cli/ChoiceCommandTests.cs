using System.Text.Json.Nodes;
using Xunit;

namespace SelfAlign.Tests.Cli;

/// <summary>eval choice on a random model folder: every question scored, acc and acc_norm from the log-likelihoods it wrote, resumed.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class ChoiceCommandTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("selfalign-choice-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Scores_every_choice_and_resumes()
    {
        string model = Path.Combine(_dir, "model"), data = Path.Combine(_dir, "q.jsonl"), output = Path.Combine(_dir, "run");
        var init = CliRunner.Run("init-model", "--config", Path.Combine(TestModels.Configs, "smollm2-135m", "config.json"), "--out", model, "--layers", "1", "--dtype", "f32");
        Assert.True(init.Code == 0, init.Err);
        File.WriteAllLines(data, [
            "{\"id\": \"q1\", \"context\": \"Question: What color is the sky?\\nAnswer:\", \"choices\": [\"blue\", \"green\", \"a loud trumpet\"], \"answer\": 0, \"category\": \"science\"}",
            "{\"id\": \"q2\", \"context\": \"Question: How many legs does a spider have?\\nAnswer:\", \"choices\": [\"six\", \"eight\"], \"answer\": 1, \"category\": \"science\"}",
            "{\"id\": \"q3\", \"context\": \"The capital of France is\", \"choices\": [\"Paris\", \"Rome\"], \"answer\": 0, \"category\": \"geography\"}"]);
        string[] args = ["eval", "choice", "--model", model, "--data", data, "--out", output];
        var run = CliRunner.Run(args);
        Assert.True(run.Code == 0, run.Err);
        var items = File.ReadAllLines(Path.Combine(output, "items.jsonl")).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal([3, 2, 2], items.Select(i => i["logprobs"]!.AsArray().Count));
        Assert.All(items.SelectMany(i => i["logprobs"]!.AsArray()), lp => Assert.True((double)lp! < 0));
        var results = JsonNode.Parse(File.ReadAllText(Path.Combine(output, "results.json")))!;
        double acc = items.Count(i => (int)i["predicted"]! == (int)i["answer"]!) / 3.0;
        Assert.Equal(acc, (double)results["overall"]!["acc"]!, 12);
        Assert.Equal(2, (int)results["categories"]!["science"]!["questions"]!);

        string before = File.ReadAllText(Path.Combine(output, "items.jsonl"));
        var again = CliRunner.Run(args);
        Assert.True(again.Code == 0, again.Err);
        Assert.Equal(before, File.ReadAllText(Path.Combine(output, "items.jsonl")));
    }
}
