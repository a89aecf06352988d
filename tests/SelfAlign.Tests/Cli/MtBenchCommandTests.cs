using System.Text.Json.Nodes;
using Xunit;

namespace SelfAlign.Tests.Cli;

/// <summary>eval mtbench on a random model folder: both turns answered and judged, a math question against its reference, resumed.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class MtBenchCommandTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("selfalign-mtbench-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Answers_and_grades_both_turns_and_resumes()
    {
        string model = Path.Combine(_dir, "model"), data = Path.Combine(_dir, "mt-bench"), output = Path.Combine(_dir, "run");
        var init = CliRunner.Run("init-model", "--config", Path.Combine(TestModels.Configs, "smollm2-135m", "config.json"), "--out", model, "--layers", "1", "--dtype", "f32");
        Assert.True(init.Code == 0, init.Err);
        // One writing and one math question of the shipped set, with FastChat's prompts and reference answers.
        string shipped = Path.Combine(AppContext.BaseDirectory, "data", "mt-bench");
        Directory.CreateDirectory(data);
        var questions = File.ReadAllLines(Path.Combine(shipped, "question.jsonl"));
        File.WriteAllLines(Path.Combine(data, "question.jsonl"), [questions[0], questions.First(l => l.Contains("\"math\""))]);
        foreach (string file in new[] { "judge_prompts.jsonl", "reference_answer_gpt-4.jsonl" }) File.Copy(Path.Combine(shipped, file), Path.Combine(data, file));

        string[] args = ["eval", "mtbench", "--model", model, "--data", data, "--out", output, "--max-new-tokens", "6", "--judge-max-new-tokens", "8"];
        var run = CliRunner.Run(args);
        Assert.True(run.Code == 0, run.Err);
        var scores = File.ReadAllLines(Path.Combine(output, "scores.jsonl")).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(4, scores.Count);
        Assert.Equal(["writing", "writing", "math", "math"], scores.Select(s => (string)s["category"]!));
        // The math question's judge read the reference answers; the second turn's policy saw its first answer.
        var judgePrompts = File.ReadAllText(Path.Combine(output, "judgments.prompts.jsonl"));
        Assert.Contains("Reference Answer", judgePrompts);
        var turn2 = File.ReadAllLines(Path.Combine(output, "answers", "turn-2-t0.prompts.jsonl")).Single();
        Assert.Contains((string)scores[2]["answer"]!, (string)JsonNode.Parse(turn2)!["messages"]![1]!["content"]!);
        var results = JsonNode.Parse(File.ReadAllText(Path.Combine(output, "results.json")))!;
        Assert.Equal(4, (int)results["overall"]!["rated"]! + (int)results["overall"]!["failures"]!);
        Assert.NotNull(results["categories"]!["math"]);

        string before = File.ReadAllText(Path.Combine(output, "scores.jsonl"));
        var again = CliRunner.Run(args);
        Assert.True(again.Code == 0, again.Err);
        Assert.Equal(before, File.ReadAllText(Path.Combine(output, "scores.jsonl")));
    }
}
