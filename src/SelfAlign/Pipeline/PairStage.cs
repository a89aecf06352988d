using System.Text.Json;
using System.Text.Json.Nodes;
using SelfAlign.Data;
using SelfAlign.IO;
using SelfAlign.Judging;

namespace SelfAlign.Pipeline;

/// <summary>How judged candidates become pairs.</summary>
/// <param name="MinMargin">Drop a pair whose score gap (pointwise judges) or strength above 0.5 (pairwise) is below this.</param>
/// <param name="Eta">PSO's calibration η in [0.5, 1] of the pairwise strength (0.5: none).</param>
public sealed record PairRule(double MinMargin = 0, double Eta = 0.5)
{
    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        if (!(MinMargin >= 0)) throw new ArgumentException($"minimum margin must be >= 0, got {MinMargin}");
        if (!(Eta is >= 0.5 and <= 1)) throw new ArgumentException($"eta must be in [0.5, 1], got {Eta}");
    }
}

/// <summary>What pairing found: counts, why prompts gave no pair, and the judge's score statistics.</summary>
/// <param name="Prompts">Prompts with candidates.</param>
/// <param name="Pairs">Pairs written.</param>
/// <param name="NoPair">Prompts without a pair, by reason.</param>
/// <param name="Judge">The judge that scored the candidates.</param>
/// <param name="Scores">Every candidate score (pointwise) or pair preference (pairwise) that parsed.</param>
/// <param name="FormatFailures">Judgments with no parsable score.</param>
/// <param name="ChosenLength">Mean chosen length in characters.</param>
/// <param name="RejectedLength">Mean rejected length in characters.</param>
public sealed record PairReport(int Prompts, int Pairs, IReadOnlyDictionary<string, int> NoPair, string Judge, IReadOnlyList<double> Scores,
    int FormatFailures, double ChosenLength, double RejectedLength);

/// <summary>
/// Builds <c>pairs.jsonl</c> in TRL's conversational preference format (<c>prompt</c>,
/// <c>chosen</c>, <c>rejected</c> as message lists) plus <c>id</c>, <c>category</c>, the scores,
/// <c>strength</c> and the judge. Pointwise judges (IPO yes/no, Self-Rewarding additive): the
/// highest- against the lowest-scored candidate, the pair discarded when they tie. Pairwise
/// (PSO): of all candidate pairs, the one with the highest preference strength, calibrated by η.
/// </summary>
public static class PairStage
{
    /// <summary>Reasons a prompt gives no pair, as the report names them.</summary>
    public const string FewCandidates = "fewer than 2 judged candidates", Tie = "all scores tied", SmallMargin = "margin below the minimum";

    /// <summary>Writes the pairs (atomically) and returns the report.</summary>
    public static PairReport Run(string candidatesFile, string judgmentsFile, string output, PairRule rule)
    {
        rule.Validate();
        var groups = Candidates.Read(candidatesFile);
        var rows = Jsonl.Read(judgmentsFile).Select(r => r.Row).ToList();
        var byPrompt = rows.ToLookup(r => r.GetProperty("prompt_id").GetString()!);
        string judge = rows.Count == 0 ? "none" : rows[0].GetProperty("judge").GetString()!;
        var noPair = new Dictionary<string, int>();
        var pairs = new List<JsonObject>();
        var lengths = new List<(int Chosen, int Rejected)>();
        var scores = new List<double>();
        int failures = 0;
        foreach (var (promptId, samples) in groups)
        {
            var mine = byPrompt[promptId].ToList();
            (Candidate Chosen, Candidate Rejected, double ScoreChosen, double ScoreRejected, double? Strength)? pick;
            string? why;
            if (judge == "pairwise")
            {
                foreach (var r in mine) scores.Add(r.GetProperty("preference").GetDouble());
                (pick, why) = Pairwise(samples, mine, rule);
            }
            else
            {
                var scored = new List<(Candidate, double)>();
                foreach (var r in mine)
                {
                    if (r.GetProperty("score").ValueKind != JsonValueKind.Number)
                    {
                        failures++;
                        continue;
                    }
                    double s = r.GetProperty("score").GetDouble();
                    scores.Add(s);
                    scored.Add((samples.First(c => c.Sample == r.GetProperty("sample").GetInt32()), s));
                    if (r.TryGetProperty("format_failures", out var f)) failures += f.GetInt32();
                }
                (pick, why) = Pointwise(scored, rule);
            }
            if (pick is not { } p)
            {
                noPair[why!] = noPair.GetValueOrDefault(why!) + 1;
                continue;
            }
            pairs.Add(new JsonObject
            {
                ["id"] = promptId,
                ["prompt"] = Conversation(p.Chosen.Prompt),
                ["chosen"] = Assistant(p.Chosen.Text),
                ["rejected"] = Assistant(p.Rejected.Text),
                ["category"] = mine.FirstOrDefault().TryGetProperty("category", out var cat) ? cat.GetString() : Categories.Chat,
                ["score_chosen"] = p.ScoreChosen,
                ["score_rejected"] = p.ScoreRejected,
                ["strength"] = p.Strength,
                ["judge"] = judge,
                ["chosen_sample"] = p.Chosen.Sample,
                ["rejected_sample"] = p.Rejected.Sample,
            });
            lengths.Add((p.Chosen.Text.Length, p.Rejected.Text.Length));
        }
        AtomicFile.WriteAllText(output, string.Concat(pairs.Select(p => p.ToJsonString(new JsonSerializerOptions { Encoder = JsonlAppender.RowOptions.Encoder }) + "\n")));
        return new PairReport(groups.Count, pairs.Count, noPair, judge, scores, failures,
            lengths.Count == 0 ? 0 : lengths.Average(l => l.Chosen), lengths.Count == 0 ? 0 : lengths.Average(l => l.Rejected));
    }

    static ((Candidate, Candidate, double, double, double?)?, string?) Pointwise(List<(Candidate C, double S)> scored, PairRule rule)
    {
        if (scored.Count < 2) return (null, FewCandidates);
        // Ties between equal maxima (or minima) go to the earlier sample, so the choice is reproducible.
        var best = scored.MaxBy(s => s.S);
        var worst = scored.MinBy(s => s.S);
        if (best.S == worst.S) return (null, Tie);
        if (best.S - worst.S < rule.MinMargin) return (null, SmallMargin);
        return ((best.C, worst.C, best.S, worst.S, null), null);
    }

    static ((Candidate, Candidate, double, double, double?)?, string?) Pairwise(List<Candidate> samples, List<JsonElement> judged, PairRule rule)
    {
        if (judged.Count == 0) return (null, FewCandidates);
        var strongest = judged.MaxBy(r => Math.Abs(r.GetProperty("preference").GetDouble() - 0.5));
        double p = strongest.GetProperty("preference").GetDouble(), strength = Math.Max(p, 1 - p);
        if (strength - 0.5 < rule.MinMargin) return (null, SmallMargin);
        var first = samples.First(c => c.Sample == strongest.GetProperty("first").GetInt32());
        var second = samples.First(c => c.Sample == strongest.GetProperty("second").GetInt32());
        var (winner, loser) = p >= 0.5 ? (first, second) : (second, first);
        return ((winner, loser, strength, 1 - strength, PairwiseJudge.Calibrate(strength, rule.Eta)), null);
    }

    static JsonNode Conversation(JsonElement prompt) => prompt.ValueKind == JsonValueKind.String
        ? new JsonArray(new JsonObject { ["role"] = "user", ["content"] = prompt.GetString() })
        : JsonNode.Parse(prompt.GetRawText())!;

    static JsonArray Assistant(string text) => new(new JsonObject { ["role"] = "assistant", ["content"] = text });

    /// <summary>The report as JSON (scores summarized, not listed).</summary>
    public static JsonObject ToJson(PairReport r) => new()
    {
        ["prompts"] = r.Prompts,
        ["pairs"] = r.Pairs,
        ["no_pair"] = new JsonObject(r.NoPair.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
        ["judge"] = r.Judge,
        ["judgments"] = r.Scores.Count,
        ["format_failures"] = r.FormatFailures,
        ["score_mean"] = r.Scores.Count == 0 ? null : Math.Round(r.Scores.Average(), 6),
        ["score_min"] = r.Scores.Count == 0 ? null : r.Scores.Min(),
        ["score_max"] = r.Scores.Count == 0 ? null : r.Scores.Max(),
        ["chosen_length_chars"] = Math.Round(r.ChosenLength, 1),
        ["rejected_length_chars"] = Math.Round(r.RejectedLength, 1),
    };
}
