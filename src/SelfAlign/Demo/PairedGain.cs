using SelfAlign.Data;
using SelfAlign.Evaluation;

namespace SelfAlign.Demo;

/// <summary>A change of sampled success between two models on the same test tasks, with its 95% interval.</summary>
/// <param name="Gain">Mean over tasks of the later model's success minus the earlier one's (a fraction).</param>
/// <param name="Low">Lower end of the interval.</param>
/// <param name="High">Upper end.</param>
/// <param name="Tasks">Tasks both models answered.</param>
public sealed record PairedGain(double Gain, double Low, double High, int Tasks)
{
    /// <summary>Each test task's share of sampled responses its check accepts, from an evaluation's response file.</summary>
    public static IReadOnlyDictionary<string, double> SampledByTask(string responsesFile) =>
        File.Exists(responsesFile)
            ? Jsonl.Read(responsesFile).Where(r => r.String("decoding") == "sampled")
                .GroupBy(r => r.String("id")).ToDictionary(g => g.Key, g => g.Average(r => r.Bool("correct") ? 1.0 : 0.0))
            : new Dictionary<string, double>();

    /// <summary>
    /// The paired change from <paramref name="before"/> to <paramref name="after"/>: the samples of
    /// one task are not independent, so the interval comes from the spread of per-task differences
    /// (normal approximation over tasks), not from the count of responses.
    /// </summary>
    public static PairedGain? Of(IReadOnlyDictionary<string, double> before, IReadOnlyDictionary<string, double> after)
    {
        var diffs = before.Keys.Where(after.ContainsKey).Select(id => after[id] - before[id]).ToList();
        if (diffs.Count < 2) return null;
        double mean = diffs.Average();
        double se = Math.Sqrt(diffs.Sum(d => (d - mean) * (d - mean)) / (diffs.Count - 1) / diffs.Count);
        return new PairedGain(mean, mean - Proportion.Z95 * se, mean + Proportion.Z95 * se, diffs.Count);
    }
}
