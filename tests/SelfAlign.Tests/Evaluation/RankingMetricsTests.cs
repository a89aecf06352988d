using System.Text.Json;
using SelfAlign.Evaluation;
using Xunit;

namespace SelfAlign.Tests.Evaluation;

/// <summary>Agreement with human rankings: counts by hand, correlations against SciPy (tests/fixtures/ranking).</summary>
public sealed class RankingMetricsTests
{
    static (List<RankedResponses> Items, List<(double Rho, double Tau)> Expected) Fixture()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestModels.Fixtures, "ranking", "ranking.json")));
        var items = new List<RankedResponses>();
        var expected = new List<(double, double)>();
        foreach (var row in doc.RootElement.GetProperty("items").EnumerateArray())
        {
            items.Add(new RankedResponses(row.GetProperty("id").GetString()!,
                [.. row.GetProperty("human_rank").EnumerateArray().Select(r => r.GetDouble())],
                [.. row.GetProperty("judge_score").EnumerateArray().Select(s => s.ValueKind == JsonValueKind.Null ? (double?)null : s.GetDouble())]));
            if (row.TryGetProperty("spearman", out var rho)) expected.Add((rho.GetDouble(), row.GetProperty("kendall").GetDouble()));
        }
        return (items, expected);
    }

    [Fact]
    public void Correlations_match_scipy_per_instruction()
    {
        var (items, expected) = Fixture();
        var correlated = items.Where(i => i.JudgeScore.All(s => s is not null) && i.JudgeScore.Distinct().Count() > 1 && i.HumanRank.Distinct().Count() > 1).ToList();
        Assert.Equal(expected.Count, correlated.Count);
        for (int k = 0; k < correlated.Count; k++)
        {
            var judge = correlated[k].JudgeScore.Select(s => s!.Value).ToArray();
            var preference = correlated[k].HumanRank.Select(r => -r).ToArray();
            Assert.Equal(expected[k].Rho, RankingMetrics.Spearman(judge, preference), 12);
            Assert.Equal(expected[k].Tau, RankingMetrics.KendallTauB(judge, preference), 12);
        }
    }

    [Fact]
    public void Pairwise_accuracy_exact_match_and_five_best_count_as_the_paper_defines_them()
    {
        var (items, expected) = Fixture();
        var a = RankingMetrics.Compute(items, perfectScore: 5);
        // Pairs the humans rank apart, per instruction: 3 + 6 + 9 + 3 + 3 + 2 + 1; the judge agrees on 3 + 0 + 7 + 0 + 1 + 1 + 0,
        // and ties or leaves unscored 0 + 0 + 2 + 3 + 2 + 1 + 0 of them.
        Assert.Equal((7, 27, 8), (a.Instructions, a.Pairs, a.JudgeTies));
        Assert.Equal(12.0 / 27, a.PairwiseAccuracy, 12);
        // Only "perfect" is ordered exactly, ties included ("human-tie" splits what the humans tied).
        Assert.Equal(1.0 / 7, a.ExactMatch, 12);
        // Two responses got a 5, both the humans' best.
        Assert.Equal((2, 1.0), (a.PerfectScored, a.FiveBest!.Value));
        Assert.Equal(expected.Count, a.Correlated);
        Assert.Equal(expected.Average(e => e.Rho), a.Spearman!.Value, 12);
        Assert.Equal(expected.Average(e => e.Tau), a.Kendall!.Value, 12);
        Assert.Null(RankingMetrics.Compute(items).FiveBest);
    }
}
