using SelfAlign.Judging;

namespace SelfAlign.Evaluation;

/// <summary>
/// RM-Bench's published score (THU-KEG/RM-Bench): a comparison counts only when the chosen
/// response scores strictly higher (its <c>&gt;</c>: a tie is wrong, whatever the run's tie rule),
/// each domain's accuracy is the mean over its records of the 3 x 3 style comparisons, the
/// easy / normal / hard levels read the matrix's triangles, and the overall score is the mean over
/// the domains. The two safety sub-domains (safety-refuse, safety-response) are pooled as the
/// paper's Safety.
/// </summary>
/// <param name="Domains">Each domain's records and accuracy, in name order.</param>
/// <param name="Levels">The levels over all records.</param>
/// <param name="Overall">The mean of the domain accuracies.</param>
public sealed record RmBenchScore(IReadOnlyList<(string Domain, int Records, double Accuracy)> Domains, StyleLevels Levels, double Overall)
{
    /// <summary>The domain a record's <c>domain</c> field counts toward: the safety sub-domains pool into safety.</summary>
    public static string Domain(string domain) => domain.StartsWith("safety", StringComparison.Ordinal) ? "safety" : domain;

    /// <summary>The domain of a published RM-Bench file by its name: <c>chat_filtered</c> holds chat.</summary>
    public static string DomainOfFile(string stem) => stem.EndsWith("_filtered", StringComparison.Ordinal) ? stem[..^"_filtered".Length] : stem;

    /// <summary>The score of the 3 x 3 records among <paramref name="records"/> (by their section); null when there are none.</summary>
    public static RmBenchScore? Of(IEnumerable<JudgedRecord> records)
    {
        var styled = records.Where(r => r.HasStyleLevels).ToArray();
        if (styled.Length == 0) return null;
        var domains = styled.GroupBy(r => r.Section).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => (g.Key, g.Count(), g.Average(r => BenchMetrics.Accuracy(r.Outcomes, TieRule.Wrong)))).ToArray();
        return new RmBenchScore(domains, BenchMetrics.Levels(styled, TieRule.Wrong), domains.Average(d => d.Item3));
    }
}
