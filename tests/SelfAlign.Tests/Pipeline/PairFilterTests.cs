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
    public void EveryFailedAdditiveJudgmentCounts()
    {
        // Three judgments per candidate: "a"'s second candidate had all three fail (no score), "b"'s first one of three.
        var (candidates, judgments) = Write("additive", ("a", 4, 2), ("b", 5, 3));
        File.WriteAllLines(judgments, File.ReadAllLines(judgments).Select(line =>
            line.Contains("\"a\", \"sample\": 1") ? line.Replace("\"score\": 2", "\"score\": null, \"format_failures\": 3")
            : line.Contains("\"b\", \"sample\": 0") ? line.Replace("}", ", \"format_failures\": 1}") : line));
        var report = PairStage.Run(candidates, judgments, Path.Combine(_dir, "pairs.jsonl"), new PairRule());
        Assert.Equal(4, report.FormatFailures);
        Assert.Equal(1, report.Pairs);   // "a" has one scored candidate left: too few to pair
    }

    /// <summary>Writes one prompt's candidates with the given texts and scores; returns the candidates and judgments files.</summary>
    (string Candidates, string Judgments) WriteOne(string judge, params (string Text, double Score)[] candidates)
    {
        string c = Path.Combine(_dir, "candidates.jsonl"), j = Path.Combine(_dir, "judgments.jsonl");
        File.WriteAllLines(c, candidates.Select((x, s) => $"{{\"prompt_id\": \"p\", \"sample\": {s}, \"prompt\": \"question\", \"text\": \"{x.Text}\"}}"));
        File.WriteAllLines(j, candidates.Select((x, s) => $"{{\"prompt_id\": \"p\", \"sample\": {s}, \"judge\": \"{judge}\", \"score\": {x.Score}}}"));
        return (c, j);
    }

    static System.Text.Json.Nodes.JsonNode OnlyPair(string file) => System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllLines(file).Single())!;

    [Fact]
    public void LengthControlTakesTheShortestNearTheTopAndTheLongestNearTheBottom()
    {
        // Additive scores 5, 4.8, 1, 1.3 (range 4): with ρ = 0.1 the top tier is >= 4.6 and the bottom tier <= 1.4.
        var (candidates, judgments) = WriteOne("additive", ("a long and winding best answer", 5), ("short good", 4.8), ("bad", 1), ("a very long and rambling bad answer", 1.3));
        string output = Path.Combine(_dir, "pairs.jsonl");
        PairStage.Run(candidates, judgments, output, new PairRule());
        Assert.Equal(("a long and winding best answer", "bad"), ((string)OnlyPair(output)["chosen"]![0]!["content"]!, (string)OnlyPair(output)["rejected"]![0]!["content"]!));
        PairStage.Run(candidates, judgments, output, new PairRule(LengthControl: 0.1));
        var pair = OnlyPair(output);
        Assert.Equal(("short good", "a very long and rambling bad answer"), ((string)pair["chosen"]![0]!["content"]!, (string)pair["rejected"]![0]!["content"]!));
        Assert.Equal((4.8, 1.3), ((double)pair["score_chosen"]!, (double)pair["score_rejected"]!));
        Assert.Equal("length_control", Assert.Throws<InvalidSettingException>(() => new PairRule(LengthControl: 0.5).Validate()).Setting);
    }

    [Fact]
    public void ScoreStrengthGivesPointwisePairsThePsoStrengthOfTheirScoreGap()
    {
        // ScorePSO: additive 4.5 against 2 is a gap of half the 5-point range: strength 0.5 + 0.5 · 2.5 / 5 = 0.75.
        var (candidates, judgments) = WriteOne("additive", ("good", 4.5), ("poor", 2));
        string output = Path.Combine(_dir, "pairs.jsonl");
        PairStage.Run(candidates, judgments, output, new PairRule(ScoreStrength: true));
        Assert.Equal(0.75, (double)OnlyPair(output)["strength"]!, 12);
        // Calibrated by η as the pairwise strength is: η + (s − 0.5)(1 − η) / 0.5.
        PairStage.Run(candidates, judgments, output, new PairRule(Eta: 0.7, ScoreStrength: true));
        Assert.Equal(0.7 + 0.25 * 0.3 / 0.5, (double)OnlyPair(output)["strength"]!, 12);
        // Yes/no scores live in [0, 1]: 0.9 against 0.3 gives 0.5 + 0.5 · 0.6 = 0.8; without the option there is no strength.
        (candidates, judgments) = WriteOne("yesno", ("good", 0.9), ("poor", 0.3));
        PairStage.Run(candidates, judgments, output, new PairRule(ScoreStrength: true));
        Assert.Equal(0.8, (double)OnlyPair(output)["strength"]!, 12);
        PairStage.Run(candidates, judgments, output, new PairRule());
        Assert.Null(OnlyPair(output)["strength"]);
    }

    [Fact]
    public void WithoutFiltersEveryUntiedPromptGivesAPair()
    {
        var (candidates, judgments) = Write("yesno", ("kept", 0.9, 0.1), ("weak", 0.4, 0.1), ("close", 0.9, 0.6));
        Assert.Equal(3, PairStage.Run(candidates, judgments, Path.Combine(_dir, "pairs.jsonl"), new PairRule()).Pairs);
    }

    [Fact]
    public void QuantileFiltersFollowTheRunsOwnScores()
    {
        // Every score crowds near 0.5, so an absolute 0.8 / 0.3 keeps nothing; the quartiles of the eight scores
        // (0.4375 and 0.5675 by linear interpolation, Python's statistics.quantiles 'inclusive') keep the two clearest pairs.
        var (candidates, judgments) = Write("yesno", ("a", 0.62, 0.40), ("b", 0.55, 0.45), ("c", 0.66, 0.38), ("d", 0.5, 0.49));
        string output = Path.Combine(_dir, "pairs.jsonl");
        Assert.Equal(0, PairStage.Run(candidates, judgments, output, new PairRule(MinChosenScore: 0.8, MaxRejectedScore: 0.3)).Pairs);

        var report = PairStage.Run(candidates, judgments, output, new PairRule(MinChosenQuantile: 0.75, MaxRejectedQuantile: 0.25), overwrite: true);
        Assert.Equal(2, report.Pairs);
        Assert.Equal(2, report.NoPair[PairStage.ChosenTooLow]);   // "b" and "d"
        Assert.Equal(0.5675, report.MinChosen!.Value, 12);
        Assert.Equal(0.4375, report.MaxRejected!.Value, 12);
        Assert.Equal(["a", "c"], File.ReadLines(output).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("id").GetString()));

        // With both kinds set, the stricter bound holds on each side.
        report = PairStage.Run(candidates, judgments, output, new PairRule(MinChosenScore: 0.64, MinChosenQuantile: 0.75, MaxRejectedScore: 0.45,
            MaxRejectedQuantile: 0.25), overwrite: true);
        Assert.Equal((0.64, 0.4375), (report.MinChosen!.Value, Math.Round(report.MaxRejected!.Value, 12)));
        Assert.Equal(1, report.Pairs);
    }

    [Theory]
    [InlineData(1.5, "min_chosen_quantile"), InlineData(-0.1, "min_chosen_quantile"), InlineData(double.NaN, "min_chosen_quantile")]
    public void QuantilesOutsideTheUnitIntervalAreRefused(double quantile, string setting)
    {
        var (candidates, judgments) = Write("yesno", ("a", 0.9, 0.1));
        var e = Assert.Throws<InvalidSettingException>(() =>
            PairStage.Run(candidates, judgments, Path.Combine(_dir, "pairs.jsonl"), new PairRule(MinChosenQuantile: quantile)));
        Assert.Equal(setting, e.Setting);
        Assert.Throws<InvalidSettingException>(() =>
            PairStage.Run(candidates, judgments, Path.Combine(_dir, "pairs.jsonl"), new PairRule(MaxRejectedQuantile: quantile)));
    }

    [Theory]
    [InlineData("min_chosen_score"), InlineData("max_rejected_quantile")]
    public void ScoreFiltersAreRefusedForPairwiseJudgments(string setting)
    {
        var (candidates, judgments) = Write("pairwise", ("a", 0.9, 0));
        var rule = setting == "min_chosen_score" ? new PairRule(MinChosenScore: 0.5) : new PairRule(MaxRejectedQuantile: 0.2);
        var e = Assert.Throws<InvalidSettingException>(() => PairStage.Run(candidates, judgments, Path.Combine(_dir, "pairs.jsonl"), rule));
        Assert.Equal(setting, e.Setting);
        Assert.False(File.Exists(Path.Combine(_dir, "pairs.jsonl")));
    }
}
