using System.Text.Json.Nodes;
using SelfAlign.Judging;
using SelfAlign.Pipeline;
using Xunit;

namespace SelfAlign.Tests.Pipeline;

/// <summary>EFT rows: the model's own judgments, kept where they order the responses as the humans ranked them, then balanced.</summary>
public sealed class EftStageTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("selfalign-eft-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string File(string name) => Path.Combine(_dir, name);

    static string Candidate(string id, int sample, int rank) =>
        new JsonObject { ["prompt_id"] = id, ["sample"] = sample, ["prompt"] = $"question {id}", ["text"] = $"answer {id}{sample}", ["rank"] = rank }.ToJsonString();

    static string Judged(string id, int sample, params int?[] scores) => new JsonObject
    {
        ["prompt_id"] = id, ["sample"] = sample, ["judge"] = "additive",
        ["scores"] = new JsonArray([.. scores.Select(s => (JsonNode?)s)]),
        ["judgments"] = new JsonArray([.. scores.Select((s, m) => (JsonNode?)$"Judgment {m} of {id}{sample}. Score: {s?.ToString() ?? "?"}")]),
    }.ToJsonString();

    [Fact]
    public void RoundsThatOrderTheResponsesAsTheHumansDidBecomeRows()
    {
        System.IO.File.WriteAllLines(File("ranked.jsonl"), [Candidate("q0", 0, 0), Candidate("q0", 1, 1), Candidate("q0", 2, 2), Candidate("q1", 0, 0), Candidate("q1", 1, 1)]);
        // q0: round 0 (5, 4, 2) agrees, round 1 (3, 4, none) does not; q1: round 0 (4 > 3) agrees, round 1 (2 < 3) does not.
        System.IO.File.WriteAllLines(File("judgments.jsonl"),
            [Judged("q0", 0, 5, 3), Judged("q0", 1, 4, 4), Judged("q0", 2, 2, null), Judged("q1", 0, 4, 2), Judged("q1", 1, 3, 3)]);

        var unbalanced = EftStage.Run(File("ranked.jsonl"), File("judgments.jsonl"), File("eft.jsonl"), balance: false);
        Assert.Equal((2, 2, 5, 0), (unbalanced.Instructions, unbalanced.Agreeing, unbalanced.Rows, unbalanced.Dropped));
        var rows = System.IO.File.ReadAllLines(File("eft.jsonl")).Select(l => JsonNode.Parse(l)!).ToList();
        var first = rows.Single(r => (string)r["id"]! == "eft-q0-0-0");
        Assert.Equal(AdditiveJudge.Request(new JudgeItem("question q0", "answer q00")), (string)first["prompt"]!);
        Assert.Equal("Judgment 0 of q00. Score: 5", (string)first["response"]!);

        // Scores 5, 4, 2, 4, 3: the two 4s are cut to the one of the next most common score.
        var balanced = EftStage.Run(File("ranked.jsonl"), File("judgments.jsonl"), File("eft.jsonl"));
        Assert.Equal((4, 1), (balanced.Rows, balanced.Dropped));
        Assert.Equal(1, balanced.ByScore[4]);

        System.IO.File.WriteAllText(File("yesno.jsonl"), "{\"prompt_id\": \"q0\", \"sample\": 0, \"judge\": \"yesno\", \"score\": 0.7}\n");
        var e = Assert.Throws<SelfAlign.Data.DataFormatException>(() => EftStage.Run(File("ranked.jsonl"), File("yesno.jsonl"), File("eft2.jsonl")));
        Assert.Contains("yesno.jsonl:1", e.Message);
    }
}
