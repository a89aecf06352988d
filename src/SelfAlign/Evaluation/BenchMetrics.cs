using SelfAlign.Judging;

namespace SelfAlign.Evaluation;

/// <summary>What the metrics need of one judged record (read back from the per-item output).</summary>
/// <remarks>The responses' lengths in characters are null for per-item files written before they were recorded.</remarks>
public sealed record JudgedRecord(string Id, string Subset, string Section, double[][] Outcomes,
    double[] ChosenScores, double[] RejectedScores, int FormatFailures, int[]? ChosenChars = null, int[]? RejectedChars = null)
{
    /// <summary>True for a 3 x 3 RM-Bench record.</summary>
    public bool HasStyleLevels => Outcomes.Length == 3 && Outcomes.All(o => o.Length == 3);
}

/// <summary>Accuracy of one subset.</summary>
/// <param name="Subset">Its name.</param>
/// <param name="Section">The section it counts toward.</param>
/// <param name="Records">Records judged.</param>
/// <param name="Accuracy">Mean record accuracy (a record's accuracy is the mean of its comparisons).</param>
/// <param name="Ties">Comparisons that tied.</param>
/// <param name="FormatFailures">Judgments without a usable answer.</param>
/// <param name="MeanChosen">Mean score of chosen responses (NaN-free mean of those scored).</param>
/// <param name="MeanRejected">Mean score of rejected responses.</param>
/// <param name="Levels">RM-Bench accuracies by style level, when the subset's records have them.</param>
public sealed record SubsetAccuracy(string Subset, string Section, int Records, double Accuracy, int Ties, int FormatFailures,
    double? MeanChosen, double? MeanRejected, StyleLevels? Levels)
{
    /// <summary>The 95% Wilson interval of <see cref="Accuracy"/> over the subset's records.</summary>
    public (double Low, double High) Interval => Proportion.Wilson(Accuracy, Records);
}

/// <summary>RM-Bench's accuracies: easy (chosen more styled than rejected), normal (same style), hard (chosen less styled).</summary>
public sealed record StyleLevels(double Easy, double Normal, double Hard);

/// <summary>
/// Accuracy split by length, the best-known bias of LLM judges: over the comparisons whose chosen
/// response is longer than the rejected one, and over those where it is shorter (equal lengths in neither).
/// </summary>
/// <param name="ChosenLonger">Accuracy where the chosen response is longer, or null without such comparisons.</param>
/// <param name="LongerCount">Those comparisons.</param>
/// <param name="ChosenShorter">Accuracy where the chosen response is shorter, or null without such comparisons.</param>
/// <param name="ShorterCount">Those comparisons.</param>
public sealed record LengthSplit(double? ChosenLonger, int LongerCount, double? ChosenShorter, int ShorterCount);

/// <summary>Accuracy of one section: its subsets weighted by their record counts.</summary>
public sealed record SectionAccuracy(string Section, int Records, double Accuracy)
{
    /// <summary>The 95% Wilson interval of <see cref="Accuracy"/> over the section's records.</summary>
    public (double Low, double High) Interval => Proportion.Wilson(Accuracy, Records);
}

/// <summary>All accuracies of a benchmark run.</summary>
/// <param name="Subsets">Per subset, in name order.</param>
/// <param name="Sections">Per section, in name order.</param>
/// <param name="Overall">Mean of the section accuracies (RewardBench's score).</param>
/// <param name="Levels">RM-Bench levels over all records that have them.</param>
/// <param name="Ties">The tie rule applied.</param>
/// <param name="RewardBench">RewardBench's published scoring of the subsets it knows, or null when the run has none.</param>
/// <param name="RmBench">RM-Bench's published scoring of its 3 x 3 records, or null when the run has none.</param>
/// <param name="Length">Accuracy when the chosen response is longer and when it is shorter, or null when no record has lengths.</param>
public sealed record BenchAccuracy(IReadOnlyList<SubsetAccuracy> Subsets, IReadOnlyList<SectionAccuracy> Sections, double Overall,
    StyleLevels? Levels, TieRule Ties, RewardBenchScore? RewardBench, RmBenchScore? RmBench, LengthSplit? Length = null)
{
    /// <summary>Records judged.</summary>
    public int Records => Subsets.Sum(s => s.Records);
    /// <summary>Comparisons that tied.</summary>
    public int TieCount => Subsets.Sum(s => s.Ties);
    /// <summary>Judgments without a usable answer.</summary>
    public int FormatFailures => Subsets.Sum(s => s.FormatFailures);

    /// <summary>The 95% interval of <see cref="Overall"/> (normal approximation over the sections).</summary>
    public (double Low, double High) OverallInterval => Proportion.MeanOfRates([.. Sections.Select(s => (s.Accuracy, s.Records))]);
}

/// <summary>RewardBench's and RM-Bench's accuracy arithmetic.</summary>
public static class BenchMetrics
{
    /// <summary>Accuracies of <paramref name="records"/>; ties count per <paramref name="ties"/>.</summary>
    public static BenchAccuracy Compute(IEnumerable<JudgedRecord> records, TieRule ties)
    {
        var all = records.ToArray();
        var subsets = all.GroupBy(r => r.Subset).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g =>
        {
            var rs = g.ToArray();
            var levelled = rs.Where(r => r.HasStyleLevels).ToArray();
            return new SubsetAccuracy(g.Key, rs[0].Section, rs.Length, rs.Average(r => Accuracy(r.Outcomes, ties)),
                rs.Sum(r => r.Outcomes.Sum(o => o.Count(x => x == 0.5))), rs.Sum(r => r.FormatFailures),
                Mean(rs.SelectMany(r => r.ChosenScores)), Mean(rs.SelectMany(r => r.RejectedScores)),
                levelled.Length > 0 ? Levels(levelled, ties) : null);
        }).ToArray();
        var sections = subsets.GroupBy(s => s.Section).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new SectionAccuracy(g.Key, g.Sum(s => s.Records), g.Sum(s => s.Accuracy * s.Records) / g.Sum(s => s.Records)))
            .ToArray();
        var withLevels = all.Where(r => r.HasStyleLevels).ToArray();
        return new BenchAccuracy(subsets, sections, sections.Length == 0 ? 0 : sections.Average(s => s.Accuracy),
            withLevels.Length > 0 ? Levels(withLevels, ties) : null, ties, RewardBenchScore.Of(subsets), RmBenchScore.Of(all), Lengths(all, ties));
    }

    /// <summary>Accuracy over the comparisons whose chosen response is longer, and over those where it is shorter.</summary>
    public static LengthSplit? Lengths(IReadOnlyList<JudgedRecord> records, TieRule ties)
    {
        var longer = new List<double>();
        var shorter = new List<double>();
        foreach (var r in records)
        {
            if (r.ChosenChars is not { } chosen || r.RejectedChars is not { } rejected) continue;
            for (int i = 0; i < r.Outcomes.Length; i++)
                for (int j = 0; j < r.Outcomes[i].Length; j++)
                    (chosen[i] > rejected[j] ? longer : chosen[i] < rejected[j] ? shorter : null)?.Add(Apply(r.Outcomes[i][j], ties));
        }
        return records.Any(r => r.ChosenChars is not null)
            ? new LengthSplit(longer.Count == 0 ? null : longer.Average(), longer.Count, shorter.Count == 0 ? null : shorter.Average(), shorter.Count)
            : null;
    }

    static double Apply(double outcome, TieRule ties) => outcome == 0.5 && ties == TieRule.Wrong ? 0 : outcome;

    /// <summary>A record's accuracy: the mean of its comparisons.</summary>
    public static double Accuracy(double[][] outcomes, TieRule ties) => outcomes.SelectMany(o => o).Average(x => Apply(x, ties));

    /// <summary>RM-Bench's levels over 3 x 3 records: hard = chosen style below rejected (i &lt; j), normal = same, easy = above.</summary>
    public static StyleLevels Levels(IReadOnlyList<JudgedRecord> records, TieRule ties)
    {
        double Level(Func<int, int, bool> cell) => records.Average(r =>
            Enumerable.Range(0, 3).SelectMany(i => Enumerable.Range(0, 3).Where(j => cell(i, j)).Select(j => Apply(r.Outcomes[i][j], ties))).Average());
        return new StyleLevels(Level((i, j) => i > j), Level((i, j) => i == j), Level((i, j) => i < j));
    }

    static double? Mean(IEnumerable<double> xs)
    {
        var scored = xs.Where(x => !double.IsNaN(x)).ToArray();
        return scored.Length == 0 ? null : scored.Average();
    }
}
