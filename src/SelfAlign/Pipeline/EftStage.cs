using System.Text.Json;
using System.Text.Json.Nodes;
using SelfAlign.Data;
using SelfAlign.IO;
using SelfAlign.Judging;
using SelfAlign.Text;

namespace SelfAlign.Pipeline;

/// <summary>What building judge-training data kept.</summary>
/// <param name="Instructions">Instructions with at least two ranked responses.</param>
/// <param name="Agreeing">Judgment rounds (one judgment of every response of an instruction) whose scores ordered the responses as the humans did.</param>
/// <param name="Rows">Rows written.</param>
/// <param name="ByScore">Rows written, by score.</param>
/// <param name="Dropped">Rows of the most common score dropped to balance the scores.</param>
public sealed record EftReport(int Instructions, int Agreeing, int Rows, IReadOnlyDictionary<int, int> ByScore, int Dropped);

/// <summary>
/// Builds Evaluation Fine-Tuning (EFT) rows, the Self-Rewarding recipe for teaching a model to
/// judge: the additive judge's prompt with a human-ranked response as the input, and a judgment
/// the model itself wrote (its justification and "Score: N") as the target, kept only where the
/// judgments of one instruction's responses order them as the humans did. Round m of an
/// instruction is the m-th judgment of each of its responses; every parsed score of the round
/// must order each pair the humans ranked apart the same way. With balancing, the most common
/// score is cut down to the count of the next one (the paper's fix for scores skewed to 4).
/// Rows are <c>{"id", "prompt", "response", "score"}</c>: the SFT format.
/// </summary>
public static class EftStage
{
    /// <summary>Writes the rows (atomically, with a manifest) and returns the report.</summary>
    public static EftReport Run(string rankedFile, string judgmentsFile, string output, bool balance = true, ulong seed = 0, bool overwrite = false)
    {
        var human = AgreementStage.HumanRanks(rankedFile);
        var texts = Candidates.Read(rankedFile).ToDictionary(g => g.PromptId, g => g.Samples.ToDictionary(c => c.Sample));
        var judged = ReadJudgments(judgmentsFile, human);
        OutputGuard.ClaimFile(output, "eft", [new("ranked candidates file", rankedFile), new("judgments file", judgmentsFile)], overwrite);
        RunManifest.Write(OutputGuard.ManifestOf(output), "eft", new JsonObject
        {
            ["candidates"] = Path.GetFullPath(rankedFile),
            ["candidates_sha256"] = RunManifest.FileSha256(rankedFile),
            ["judgments"] = Path.GetFullPath(judgmentsFile),
            ["judgments_sha256"] = RunManifest.FileSha256(judgmentsFile),
            ["balance"] = balance,
            ["seed"] = seed,
        });

        var rows = new List<(JsonObject Row, int Score)>();
        int instructions = 0, agreeing = 0;
        foreach (var (id, ranks) in human)
        {
            if (ranks.Count < 2 || !judged.TryGetValue(id, out var bySample) || ranks.Keys.Any(s => !bySample.ContainsKey(s))) continue;
            instructions++;
            int rounds = ranks.Keys.Min(s => bySample[s].Count);
            for (int m = 0; m < rounds; m++)
            {
                var round = ranks.Keys.Select(s => (Sample: s, Rank: ranks[s], bySample[s][m].Score, bySample[s][m].Text)).ToList();
                if (!Agrees(round.Select(r => (r.Rank, r.Score)).ToList())) continue;
                agreeing++;
                foreach (var r in round)
                {
                    var candidate = texts[id][r.Sample];
                    rows.Add((new JsonObject
                    {
                        ["id"] = $"eft-{id}-{r.Sample}-{m}",
                        ["prompt"] = AdditiveJudge.Request(new JudgeItem(candidate.Instruction, candidate.Text)),
                        ["response"] = r.Text,
                        ["score"] = r.Score!.Value,
                    }, r.Score!.Value));
                }
            }
        }
        int dropped = 0;
        if (balance && rows.Count > 0)
        {
            var counts = rows.GroupBy(r => r.Score).OrderByDescending(g => g.Count()).ToList();
            int cap = counts.Count > 1 ? counts[1].Count() : counts[0].Count();
            var drop = counts[0].OrderBy(r => StableHash.Of($"{seed}:{r.Row["id"]}")).Skip(cap).Select(r => r.Row).ToHashSet();
            dropped = drop.Count;
            rows = [.. rows.Where(r => !drop.Contains(r.Row))];
        }
        AtomicFile.WriteAllText(output, string.Concat(rows.Select(r => r.Row.ToJsonString(new JsonSerializerOptions { Encoder = JsonlAppender.RowOptions.Encoder }) + "\n")));
        return new EftReport(instructions, agreeing, rows.Count,
            rows.GroupBy(r => r.Score).OrderBy(g => g.Key).ToDictionary(g => g.Key, g => g.Count()), dropped);
    }

    /// <summary>True when every score parsed and each pair the humans ranked apart is ordered the same way.</summary>
    static bool Agrees(List<(double Rank, int? Score)> round)
    {
        if (round.Any(r => r.Score is null)) return false;
        for (int i = 0; i < round.Count; i++)
            for (int j = i + 1; j < round.Count; j++)
            {
                int human = Math.Sign(round[j].Rank - round[i].Rank);
                if (human != 0 && Math.Sign(round[i].Score!.Value - round[j].Score!.Value) != human) return false;
            }
        return true;
    }

    /// <summary>Each (prompt, sample)'s additive judgments: parsed score (or null) and text, in order.</summary>
    static Dictionary<string, Dictionary<int, List<(int? Score, string Text)>>> ReadJudgments(string file, Dictionary<string, SortedDictionary<int, double>> human)
    {
        var judged = new Dictionary<string, Dictionary<int, List<(int?, string)>>>();
        foreach (var row in Jsonl.Read(file))
        {
            if (row.String("judge") != "additive") throw row.Error($"EFT needs the additive judge's judgments, got '{row.String("judge")}'");
            string id = row.String("prompt_id");
            int sample = row.Int("sample");
            if (!human.TryGetValue(id, out var ranks) || !ranks.ContainsKey(sample)) throw row.Error($"prompt '{id}' sample {sample} is not in the ranked candidates");
            var scores = row.Field("scores");
            var judgments = row.Field("judgments");
            if (scores.ValueKind != JsonValueKind.Array || judgments.ValueKind != JsonValueKind.Array || scores.GetArrayLength() != judgments.GetArrayLength())
                throw row.Error("'scores' and 'judgments' must be lists of the same length");
            var list = scores.EnumerateArray().Zip(judgments.EnumerateArray(), (s, t) =>
                (s.ValueKind == JsonValueKind.Null ? (int?)null : s.GetInt32(), t.GetString() ?? throw row.Error("'judgments' must hold strings"))).ToList();
            if (!judged.TryGetValue(id, out var bySample)) judged[id] = bySample = [];
            bySample[sample] = list;
        }
        return judged;
    }
}
