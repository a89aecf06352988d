using System.Text.Json;
using System.Text.Json.Nodes;
using SelfAlign.Data;
using SelfAlign.Evaluation;
using SelfAlign.IO;

namespace SelfAlign.Pipeline;

/// <summary>
/// How well the model's judgments of ranked responses agree with the humans' ranking (the
/// Self-Rewarding paper's Table 4). The ranked responses are a candidates file whose rows also
/// carry the human verdict: <c>rank</c> (lower is better, 0 best) or <c>human_score</c> (higher is
/// better); the judgments are the <c>judge</c> stage's output on that file. A pairwise judgment
/// gives each response its mean preference over the others as its score.
/// </summary>
public static class AgreementStage
{
    /// <summary>Computes the agreement and writes it to <paramref name="output"/> (JSON, atomically, with a manifest).</summary>
    public static (string Judge, RankingAgreement Agreement) Run(string candidatesFile, string judgmentsFile, string output, bool overwrite = false)
    {
        var human = HumanRanks(candidatesFile);
        var (judge, scores) = JudgeScores(judgmentsFile, human);
        OutputGuard.ClaimFile(output, "agreement", [new("ranked candidates file", candidatesFile), new("judgments file", judgmentsFile)], overwrite);
        RunManifest.Write(OutputGuard.ManifestOf(output), "agreement", new JsonObject
        {
            ["candidates"] = Path.GetFullPath(candidatesFile),
            ["candidates_sha256"] = RunManifest.FileSha256(candidatesFile),
            ["judgments"] = Path.GetFullPath(judgmentsFile),
            ["judgments_sha256"] = RunManifest.FileSha256(judgmentsFile),
        });
        var items = human.Select(h => new RankedResponses(h.Key, [.. h.Value.Values],
            [.. h.Value.Keys.Select(sample => scores.TryGetValue((h.Key, sample), out var s) ? s : null)])).ToList();
        // Only the additive judge has a perfect score to count 5-best with.
        var agreement = RankingMetrics.Compute(items, judge == "additive" ? 5 : null);
        AtomicFile.WriteAllText(output, ToJson(judge, agreement).ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        return (judge, agreement);
    }

    /// <summary>Each prompt's human ranks by sample (lower is better), in sample order.</summary>
    internal static Dictionary<string, SortedDictionary<int, double>> HumanRanks(string file)
    {
        var ranks = new Dictionary<string, SortedDictionary<int, double>>();
        foreach (var row in Jsonl.Read(file))
        {
            double rank = row.Has("rank") ? row.Number("rank") : row.Has("human_score") ? -row.Number("human_score")
                : throw row.Error("needs the human verdict: 'rank' (lower is better) or 'human_score' (higher is better)");
            string id = row.String("prompt_id");
            if (!ranks.TryGetValue(id, out var samples)) ranks[id] = samples = [];
            samples[row.Int("sample")] = rank;
        }
        return ranks;
    }

    /// <summary>The judge and each (prompt, sample)'s score; pairwise preferences become mean preferences.</summary>
    static (string Judge, Dictionary<(string, int), double?> Scores) JudgeScores(string file, Dictionary<string, SortedDictionary<int, double>> human)
    {
        string? judge = null;
        var scores = new Dictionary<(string, int), double?>();
        var preferences = new Dictionary<(string, int), List<double>>();
        foreach (var row in Jsonl.Read(file))
        {
            string kind = row.String("judge");
            if (judge is not null && kind != judge) throw row.Error($"judgments of '{kind}' among judgments of '{judge}'");
            judge = kind;
            string id = row.String("prompt_id");
            if (!human.TryGetValue(id, out var samples)) throw row.Error($"prompt '{id}' is not in the ranked candidates");
            int Sample(string field) => samples.ContainsKey(row.Int(field)) ? row.Int(field) : throw row.Error($"'{field}' {row.Int(field)}: prompt '{id}' has no such response");
            if (kind == "pairwise")
            {
                double p = row.Number("preference");
                Add((id, Sample("first")), p);
                Add((id, Sample("second")), 1 - p);
            }
            else scores[(id, Sample("sample"))] = row.NumberOrNull("score");
        }
        foreach (var (key, list) in preferences) scores[key] = list.Average();
        return (judge ?? throw new DataFormatException(file, 1, "no judgments"), scores);

        void Add((string, int) key, double p)
        {
            if (!preferences.TryGetValue(key, out var list)) preferences[key] = list = [];
            list.Add(p);
        }
    }

    /// <summary>The agreement as JSON.</summary>
    public static JsonObject ToJson(string judge, RankingAgreement a) => new()
    {
        ["judge"] = judge,
        ["instructions"] = a.Instructions,
        ["pairs"] = a.Pairs,
        ["pairwise_accuracy"] = a.PairwiseAccuracy,
        ["judge_ties"] = a.JudgeTies,
        ["exact_match"] = a.ExactMatch,
        ["five_best"] = a.FiveBest,
        ["perfect_scored"] = a.PerfectScored,
        ["spearman"] = a.Spearman,
        ["kendall_tau_b"] = a.Kendall,
        ["correlated_instructions"] = a.Correlated,
    };
}
