using System.Text.Json.Nodes;
using SelfAlign.Evaluation;
using Xunit;

namespace SelfAlign.Tests.Cli;

/// <summary>eval bbh on a random model folder: the chosen tasks answered and scored as the library scores them, resumed.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class BbhCommandTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("selfalign-bbh-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Answers_the_chosen_tasks_scores_them_and_resumes()
    {
        string model = Path.Combine(_dir, "model"), output = Path.Combine(_dir, "run");
        var init = CliRunner.Run("init-model", "--config", Path.Combine(TestModels.Configs, "smollm2-135m", "config.json"), "--out", model, "--layers", "1", "--dtype", "f32");
        Assert.True(init.Code == 0, init.Err);
        string[] args = ["eval", "bbh", "--model", model, "--task", "date_understanding", "--task", "object_counting", "--limit", "3", "--max-new-tokens", "12", "--out", output];
        var run = CliRunner.Run(args);
        Assert.True(run.Code == 0, run.Err);

        var suite = Bbh.Load(Path.Combine(Bbh.ShippedFolder, Bbh.SettingsFile));
        var questions = suite.Read(Bbh.ShippedFolder, ["date_understanding", "object_counting"], 3);
        var items = File.ReadAllLines(Path.Combine(output, "items.jsonl")).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(questions.Select(q => q.Id), items.Select(i => $"{i["task"]}/{i["index"]}"));
        foreach (var (q, row) in questions.Zip(items))
        {
            var score = suite.Score(q, (string)row["response"]!);
            Assert.Equal(score.Extracted, (string)row["extracted"]!);
            Assert.Equal(score.Flexible, (bool)row["flexible_extract"]!);
            Assert.Equal(score.Strict, (bool)row["strict_match"]!);
        }
        var results = JsonNode.Parse(File.ReadAllText(Path.Combine(output, "results.json")))!;
        Assert.Equal(items.Count(i => (bool)i["flexible_extract"]!) / 6.0, (double)results["overall"]!["exact_match,flexible-extract"]!, 12);
        Assert.Equal(3, (int)results["tasks"]!["object_counting"]!["questions"]!);

        string before = File.ReadAllText(Path.Combine(output, "items.jsonl"));
        File.WriteAllLines(Path.Combine(output, "responses.jsonl"), File.ReadAllLines(Path.Combine(output, "responses.jsonl")).Take(4));
        var again = CliRunner.Run(args);
        Assert.True(again.Code == 0, again.Err);
        Assert.Equal(before, File.ReadAllText(Path.Combine(output, "items.jsonl")));
    }

    [Fact]
    public void An_unknown_task_is_refused_by_name()
    {
        var run = CliRunner.Run("eval", "bbh", "--model", _dir, "--task", "no_such_task", "--out", Path.Combine(_dir, "out"));
        Assert.NotEqual(0, run.Code);
        Assert.Contains("'no_such_task' is not a BBH task", run.Err);
    }
}
