using SelfAlign.Data;
using SelfAlign.Evaluation;
using SelfAlign.Pipeline;

namespace SelfAlign.Demo;

/// <summary>
/// How well a loop's judge did on the model's own candidates, measured with the world's checks:
/// the signal the papers could not see, and the place a self-judging loop stalls.
/// </summary>
public static class OwnSamples
{
    /// <summary>Pairs in <paramref name="pairsFile"/> and the share whose chosen response is correct and rejected one wrong.</summary>
    public static (int Pairs, RatePoint? Precision) PairPrecision(string pairsFile, IReadOnlyDictionary<string, VerifiedTask> tasks)
    {
        if (!File.Exists(pairsFile)) return (0, null);
        var right = new List<double>();
        foreach (var row in Jsonl.Read(pairsFile))
        {
            var check = tasks[row.String("id")].Check;
            bool good = check.Accepts(Text(row, "chosen")) && !check.Accepts(Text(row, "rejected"));
            right.Add(good ? 1 : 0);
        }
        return (right.Count, Rate(right));
    }

    /// <summary>
    /// Over every (correct, wrong) pair of candidates of a prompt, the share the judge ranks the
    /// right way round (ties count half), overall and per task category: pointwise scores, or the
    /// pairwise judge's preference.
    /// </summary>
    public static (RatePoint? Overall, IReadOnlyDictionary<string, RatePoint> ByCategory) JudgeAccuracy(string candidatesFile, string judgmentsFile,
        IReadOnlyDictionary<string, VerifiedTask> tasks)
    {
        if (!File.Exists(judgmentsFile)) return (null, new Dictionary<string, RatePoint>());
        var correct = new Dictionary<(string, int), bool>();
        foreach (var (promptId, samples) in Candidates.Read(candidatesFile))
            foreach (var c in samples) correct[(promptId, c.Sample)] = tasks[promptId].Check.Accepts(c.Text);
        var outcomes = new List<(string Category, double Won)>();
        var scores = new Dictionary<(string, int), double>();
        foreach (var row in Jsonl.Read(judgmentsFile))
        {
            string id = row.String("prompt_id");
            if (row.Has("second"))
            {
                bool first = correct[(id, row.Int("first"))], second = correct[(id, row.Int("second"))];
                if (first == second) continue;
                double p = row.Number("preference");
                outcomes.Add((tasks[id].Category, p == 0.5 ? 0.5 : (p > 0.5) == first ? 1 : 0));
            }
            else if (row.Has("score")) scores[(id, row.Int("sample"))] = row.Number("score");
        }
        foreach (var group in scores.GroupBy(kv => kv.Key.Item1))
        {
            var right = group.Where(kv => correct[kv.Key]).Select(kv => kv.Value).ToList();
            var wrong = group.Where(kv => !correct[kv.Key]).Select(kv => kv.Value).ToList();
            foreach (double r in right)
                foreach (double w in wrong) outcomes.Add((tasks[group.Key].Category, r > w ? 1 : r == w ? 0.5 : 0));
        }
        return (Rate(outcomes.Select(o => o.Won).ToList()),
            outcomes.GroupBy(o => o.Category).ToDictionary(g => g.Key, g => Rate(g.Select(o => o.Won).ToList())!.Value));
    }

    static RatePoint? Rate(List<double> outcomes)
    {
        if (outcomes.Count == 0) return null;
        double rate = outcomes.Average();
        var (low, high) = Proportion.Wilson(rate, outcomes.Count);
        return new RatePoint(rate, low, high);
    }

    static string Text(JsonRow row, string field)
    {
        var value = row.Field(field);
        return value.ValueKind == System.Text.Json.JsonValueKind.String ? value.GetString()! : value[0].GetProperty("content").GetString()!;
    }
}
