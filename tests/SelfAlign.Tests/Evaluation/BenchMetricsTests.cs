using SelfAlign.Evaluation;
using SelfAlign.Judging;
using Xunit;

namespace SelfAlign.Tests.Evaluation;

/// <summary>RewardBench's section weighting, RM-Bench's levels and the tie rules, on hand-made records.</summary>
public sealed class BenchMetricsTests
{
    static JudgedRecord Pair(string id, string subset, string section, double outcome, int failures = 0) =>
        new(id, subset, section, [[outcome]], [0.6], [0.4], failures);

    [Fact]
    public void Sections_weight_subsets_by_record_count_and_overall_is_their_mean()
    {
        // Subset a: 2 records, 1 right (50%); subset b: 8 records, all right; subset c alone in its section: 1 tie.
        var records = new List<JudgedRecord> { Pair("a1", "a", "S1", 1), Pair("a2", "a", "S1", 0) };
        records.AddRange(Enumerable.Range(0, 8).Select(i => Pair($"b{i}", "b", "S1", 1)));
        records.Add(Pair("c1", "c", "S2", 0.5, failures: 1));

        var half = BenchMetrics.Compute(records, TieRule.Half);
        Assert.Equal([0.5, 1.0, 0.5], half.Subsets.Select(s => s.Accuracy));
        var s1 = half.Sections.Single(s => s.Section == "S1");
        Assert.Equal(0.9, s1.Accuracy, 12);          // (2 * 0.5 + 8 * 1) / 10, not (0.5 + 1) / 2
        Assert.Equal(10, s1.Records);
        Assert.Equal((0.9 + 0.5) / 2, half.Overall, 12);
        Assert.Equal(1, half.TieCount);
        Assert.Equal(1, half.FormatFailures);
        Assert.Equal(0.6, half.Subsets[0].MeanChosen!.Value, 12);

        var wrong = BenchMetrics.Compute(records, TieRule.Wrong);
        Assert.Equal(0, wrong.Sections.Single(s => s.Section == "S2").Accuracy);
        Assert.Equal(0.45, wrong.Overall, 12);
    }

    [Fact]
    public void RM_bench_levels_read_the_triangles_of_the_3x3_matrix()
    {
        // Rows: chosen style 0..2; columns: rejected style 0..2.
        double[][] outcomes =
        [
            [1, 0, 0],      // chosen concise: beats concise rejected, loses to the styled ones (hard cells i < j)
            [1, 1, 0.5],
            [1, 1, 1],      // chosen most styled: wins everything (easy cells i > j)
        ];
        var record = new JudgedRecord("r", "chat", "chat", outcomes, [1, 2, 3], [1, 2, 3], 0);
        var levels = BenchMetrics.Levels([record], TieRule.Half);
        Assert.Equal(1.0, levels.Easy, 12);            // (1,0), (2,0), (2,1)
        Assert.Equal(1.0, levels.Normal, 12);          // diagonal
        Assert.Equal(0.5 / 3, levels.Hard, 12);        // (0,1)=0, (0,2)=0, (1,2)=0.5
        Assert.Equal(0.0, BenchMetrics.Levels([record], TieRule.Wrong).Hard, 12);
        var accuracy = BenchMetrics.Compute([record], TieRule.Half);
        Assert.NotNull(accuracy.Levels);
        Assert.Equal((3 + 3 + 0.5) / 9, accuracy.Overall, 12);
    }

    [Fact]
    public void Confusion_matrix_counts_and_agrees()
    {
        var m = ConfusionMatrix.Of([("chat", "chat"), ("code", "chat"), ("code", "code"), ("safety", "weird")], Categories.All);
        Assert.Equal(["chat", "code", "math", "safety", "weird"], m.Labels);
        Assert.Equal(1, m.Counts[1][0]);
        Assert.Equal(0.5, m.Accuracy);
        Assert.Contains("| code | 1 | 1 | 0 | 0 | 0 | 2 |", m.ToMarkdown());
    }
}
