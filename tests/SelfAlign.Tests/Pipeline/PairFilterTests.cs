using SelfAlign.Pipeline;
using Xunit;

namespace SelfAlign.Tests.Pipeline;

/// <summary>The pair filters on the judge's own verdicts: chosen accepted, rejected refused.</summary>
public sealed class PairFilterTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("selfalign-pair-filters-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Writes two candidates per prompt with the given (best, worst) scores; returns the candidates and judgments files.</summary>
    (string Candidates, string Judgments) Write(string judge, params (string Id, double First, double Second)[] prompts)
    {
        string candidates = Path.Combine(_dir, "candidates.jsonl"), judgments = Path.Combine(_dir, "judgments.jsonl");
        File.WriteAllLines(candidates, prompts.SelectMany(p => new[] { 0, 1 }.Select(s =>
            $"{{\"prompt_id\": \"{p.Id}\", \"sample\": {s}, \"prompt\": \"question {p.Id}\", \"text\": \"answer {p.Id}{s}\"}}")));
        File.WriteAllLines(judgments, judge == "pairwise"
            ? prompts.Select(p => $"{{\"prompt_id\": \"{p.Id}\", \"first\": 0, \"second\": 1, \"judge\": \"pairwise\", \"preference\": {p.First}}}")
            : prompts.SelectMany(p => new[] { p.First, p.Second }.Select((score, s) =>
                $"{{\"prompt_id\": \"{p.Id}\", \"sample\": {s}, \"judge\": \"{judge}\", \"score\": {score}}}")));
        return (candidates, judgments);
    }

    [Fact]
    public void PairsTheJudgeDoesNotEndorseAreDroppedAndCounted()
    {
        var (candidates, judgments) = Write("yesno", ("kept", 0.9, 0.1), ("weak", 0.4, 0.1), ("close", 0.9, 0.6), ("low", 0.3, 0.2));
        string output = Path.Combine(_dir, "pairs.jsonl");
        var report = PairStage.Run(candidates, judgments, output, new PairRule(MinChosenScore: 0.5, MaxRejectedScore: 0.5));

        Assert.Equal(1, report.Pairs);
        Assert.Equal(2, report.NoPair[PairStage.ChosenTooLow]);      // "weak" and "low"
        Assert.Equal(1, report.NoPair[PairStage.RejectedTooHigh]);   // "close"
        Assert.Contains("\"id\":\"kept\"", File.ReadAllText(output));
    }

    [Theory]
    [InlineData("yesno"), InlineData("pairwise")]
    public void EmptyCandidatesAreNeverPaired(string judge)
    {
        var (candidates, judgments) = Write(judge, ("a", 0.9, 0.1), ("b", 0.8, 0.2));
        File.WriteAllText(candidates, File.ReadAllText(candidates).Replace("\"answer b1\"", "\"\""));
        var report = PairStage.Run(candidates, judgments, Path.Combine(_dir, "pairs.jsonl"), new PairRule());
        Assert.Equal(1, report.Pairs);
        Assert.DoesNotContain("\"id\":\"b\"", File.ReadAllText(Path.Combine(_dir, "pairs.jsonl")));
    }

    [Fact]
    public void WithoutFiltersEveryUntiedPromptGivesAPair()
    {
        var (candidates, judgments) = Write("yesno", ("kept", 0.9, 0.1), ("weak", 0.4, 0.1), ("close", 0.9, 0.6));
        Assert.Equal(3, PairStage.Run(candidates, judgments, Path.Combine(_dir, "pairs.jsonl"), new PairRule()).Pairs);
    }

    [Fact]
    public void ScoreFiltersAreRefusedForPairwiseJudgments()
    {
        var (candidates, judgments) = Write("pairwise", ("a", 0.9, 0));
        var e = Assert.Throws<InvalidSettingException>(() =>
            PairStage.Run(candidates, judgments, Path.Combine(_dir, "pairs.jsonl"), new PairRule(MinChosenScore: 0.5)));
        Assert.Equal("min_chosen_score", e.Setting);
        Assert.False(File.Exists(Path.Combine(_dir, "pairs.jsonl")));
    }
}
