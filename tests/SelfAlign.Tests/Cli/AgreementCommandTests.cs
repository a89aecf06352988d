using System.Text.Json.Nodes;
using SelfAlign.Evaluation;
using Xunit;

namespace SelfAlign.Tests.Cli;

/// <summary>judge, then agreement, on responses with human ranks: the metrics are those of the judge's own scores.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class AgreementCommandTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("selfalign-agreement-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string File(string name) => Path.Combine(_dir, name);

    static void Ok(params string[] args)
    {
        var run = CliRunner.Run(args);
        Assert.True(run.Code == 0, $"{string.Join(' ', args)}: {run.Err}");
    }

    [Theory]
    [InlineData("yesno"), InlineData("pairwise")]
    public void AgreementReadsTheJudgmentsOfRankedResponses(string judge)
    {
        string model = File("model");
        Ok("init-model", "--config", Path.Combine(TestModels.Configs, "smollm2-135m", "config.json"), "--out", model, "--layers", "1", "--dtype", "f32");
        // Three questions with three answers each; the humans' ranks (0 best), one question by human scores instead.
        var rows = new List<string>();
        string[] questions = ["What is the capital of France?", "Name a prime number.", "How do I boil an egg?"];
        string[][] answers = [["Paris.", "Lyon.", "I don't know."], ["7", "9", "A prime number is one."], ["Simmer it 9 minutes.", "Fry it.", "Eggs are food."]];
        for (int q = 0; q < 3; q++)
            for (int s = 0; s < 3; s++)
                rows.Add(new JsonObject
                {
                    ["prompt_id"] = $"q{q}", ["sample"] = s, ["prompt"] = questions[q], ["text"] = answers[q][s],
                    [q == 2 ? "human_score" : "rank"] = q == 2 ? 3 - s : s,
                }.ToJsonString());
        System.IO.File.WriteAllLines(File("ranked.jsonl"), rows);
        Ok("judge", "--model", model, "--candidates", File("ranked.jsonl"), "--out", File("judgments.jsonl"), "--judge", judge);
        Ok("agreement", "--candidates", File("ranked.jsonl"), "--judgments", File("judgments.jsonl"), "--out", File("agreement.json"));

        var result = JsonNode.Parse(System.IO.File.ReadAllText(File("agreement.json")))!;
        Assert.Equal((judge, 3, 9), ((string)result["judge"]!, (int)result["instructions"]!, (int)result["pairs"]!));
        // The same numbers from the judge's scores directly (pairwise: each answer's mean preference).
        var judgments = System.IO.File.ReadAllLines(File("judgments.jsonl")).Select(l => JsonNode.Parse(l)!).ToList();
        double? Score(int q, int s) => judge == "yesno"
            ? (double?)judgments.Single(j => (string)j["prompt_id"]! == $"q{q}" && (int)j["sample"]! == s)["score"]
            : judgments.Where(j => (string)j["prompt_id"]! == $"q{q}" && ((int)j["first"]! == s || (int)j["second"]! == s))
                .Average(j => (int)j["first"]! == s ? (double)j["preference"]! : 1 - (double)j["preference"]!);
        var expected = RankingMetrics.Compute([.. Enumerable.Range(0, 3).Select(q => new RankedResponses($"q{q}", [0, 1, 2], [.. Enumerable.Range(0, 3).Select(s => Score(q, s))]))]);
        Assert.Equal(expected.PairwiseAccuracy, (double)result["pairwise_accuracy"]!, 12);
        Assert.Equal(expected.ExactMatch, (double)result["exact_match"]!, 12);
        Assert.Null(result["five_best"]);

        // A response without a human verdict is named by file and line.
        System.IO.File.WriteAllLines(File("bad.jsonl"), [rows[0], rows[1].Replace(",\"rank\":1", "")]);
        var bad = CliRunner.Run("agreement", "--candidates", File("bad.jsonl"), "--judgments", File("judgments.jsonl"), "--out", File("bad.json"));
        Assert.Equal(2, bad.Code);
        Assert.Contains("bad.jsonl:2", bad.Err);
    }
}
