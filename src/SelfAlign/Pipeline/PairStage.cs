using System.Text.Json;
using System.Text.Json.Nodes;
using SelfAlign.Data;
using SelfAlign.IO;
using SelfAlign.Judging;

namespace SelfAlign.Pipeline;

/// <summary>How judged candidates become pairs.</summary>
/// <param name="MinMargin">Drop a pair whose score gap (pointwise judges) or strength above 0.5 (pairwise) is below this.</param>
/// <param name="Eta">PSO's calibration η in [0.5, 1] of the pairwise strength (0.5: none).</param>
/// <param name="MinChosenScore">Pointwise judges: keep a pair only when the chosen scored at least this (the yes/no judge accepts it at 0.5), or null.</param>
/// <param name="MaxRejectedScore">Pointwise judges: keep a pair only when the rejected scored at most this, or null.</param>
/// <param name="MinChosenQuantile">Pointwise judges: keep a pair only when the chosen scored at least this quantile of every
/// candidate score of the run (0.8: in the top fifth), or null. It follows the judge's own calibration, which absolute
/// thresholds do not: a judge whose scores on its own samples crowd near 0.5 still gives its most confident pairs.</param>
/// <param name="MaxRejectedQuantile">Pointwise judges: keep a pair only when the rejected scored at most this quantile of every
/// candidate score of the run, or null.</param>
/// <param name="LengthControl">Pointwise judges: Meta-Rewarding's length control ρ in [0, 0.5). Of the candidates scored within
/// ρ of the score range below the best, the shortest is chosen; of those within ρ above the worst, the longest is rejected,
/// so a judge's slight preference for length does not become a preference the policy learns. Null: best against worst.</param>
/// <param name="ScoreStrength">Pointwise judges: give each pair PSO's strength from its scores, 0.5 + 0.5 · (chosen − rejected) /
/// range (range 5 for the additive judge, 1 for scores in [0, 1]), calibrated by η: the ScorePSO baseline of the PSO paper.</param>
public sealed record PairRule(double MinMargin = 0, double Eta = 0.5, double? MinChosenScore = null, double? MaxRejectedScore = null,
    double? MinChosenQuantile = null, double? MaxRejectedQuantile = null, double? LengthControl = null, bool ScoreStrength = false)
{
    /// <summary>Whether a filter on pointwise scores is set (refused with pairwise judgments).</summary>
    public bool FiltersScores => (MinChosenScore ?? MaxRejectedScore ?? MinChosenQuantile ?? MaxRejectedQuantile) is not null;

    /// <summary>The setting name of the first score filter that is set, for messages that refuse it.</summary>
    public string FirstScoreFilter => MinChosenScore is not null ? "min_chosen_score" : MaxRejectedScore is not null ? "max_rejected_score"
        : MinChosenQuantile is not null ? "min_chosen_quantile" : "max_rejected_quantile";

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        if (!(MinMargin >= 0) || double.IsInfinity(MinMargin)) throw new InvalidSettingException("min_margin", $"must be >= 0, got {MinMargin}");
        if (!(Eta is >= 0.5 and <= 1)) throw new InvalidSettingException("eta", $"must be in [0.5, 1], got {Eta}");
        if (MinChosenScore is double c && !double.IsFinite(c)) throw new InvalidSettingException("min_chosen_score", $"must be a finite number, got {c}");
        if (MaxRejectedScore is double r && !double.IsFinite(r)) throw new InvalidSettingException("max_rejected_score", $"must be a finite number, got {r}");
        if (MinChosenQuantile is double cq && !(cq is >= 0 and <= 1)) throw new InvalidSettingException("min_chosen_quantile", $"must be in [0, 1], got {cq}");
        if (MaxRejectedQuantile is double rq && !(rq is >= 0 and <= 1)) throw new InvalidSettingException("max_rejected_quantile", $"must be in [0, 1], got {rq}");
        if (LengthControl is double rho && !(rho is >= 0 and < 0.5)) throw new InvalidSettingException("length_control", $"must be in [0, 0.5), got {rho}");
    }

    /// <summary>
    /// The score bounds this rule sets on <paramref name="scores"/> (every candidate score of the run): the stricter of
    /// the absolute and the quantile bound on each side, or null where neither is set.
    /// </summary>
    public (double? MinChosen, double? MaxRejected) Bounds(IReadOnlyList<double> scores)
    {
        var sorted = scores.Order().ToArray();
        // Linear between the order statistics either side (NumPy's default quantile).
        double? Quantile(double? q)
        {
            if (q is not double p || sorted.Length == 0) return null;
            double at = p * (sorted.Length - 1);
            int below = (int)Math.Floor(at), above = (int)Math.Ceiling(at);
            return sorted[below] + (at - below) * (sorted[above] - sorted[below]);
        }
        double? Stricter(double? a, double? b, Func<double, double, double> pick) => a is double x && b is double y ? pick(x, y) : a ?? b;
        return (Stricter(MinChosenScore, Quantile(MinChosenQuantile), Math.Max), Stricter(MaxRejectedScore, Quantile(MaxRejectedQuantile), Math.Min));
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
/// <param name="MinChosen">The lowest score a chosen could have (the rule's absolute and quantile bounds resolved), or null.</param>
/// <param name="MaxRejected">The highest score a rejected could have, or null.</param>
public sealed record PairReport(int Prompts, int Pairs, IReadOnlyDictionary<string, int> NoPair, string Judge, IReadOnlyList<double> Scores,
    int FormatFailures, double ChosenLength, double RejectedLength, double? MinChosen = null, double? MaxRejected = null);

/// <summary>
/// Builds <c>pairs.jsonl</c> in TRL's conversational preference format (<c>prompt</c>,
/// <c>chosen</c>, <c>rejected</c> as message lists) plus <c>id</c>, <c>category</c>, the scores,
/// <c>strength</c> and the judge. Pointwise judges (IPO yes/no, Self-Rewarding additive): the
/// highest- against the lowest-scored candidate, the pair discarded when they tie. Pairwise
/// (PSO): of all candidate pairs, the one with the highest preference strength, calibrated by η.
/// Beside the pairs go a report (<c>.report.json</c>), a histogram of the scores (<c>.scores.png</c>)
/// and the manifest.
/// </summary>
public static class PairStage
{
    /// <summary>Reasons a prompt gives no pair, as the report names them.</summary>
    public const string FewCandidates = "fewer than 2 judged candidates", Tie = "all scores tied", SmallMargin = "margin below the minimum",
        SameText = "best and worst are the same text", ChosenTooLow = "chosen below the minimum score",
        RejectedTooHigh = "rejected above the maximum score";

    /// <summary>The report written beside <paramref name="pairs"/>.</summary>
    public static string ReportPath(string pairs) => Path.ChangeExtension(pairs, ".report.json");

    /// <summary>The score histogram written beside <paramref name="pairs"/>.</summary>
    public static string PlotPath(string pairs) => Path.ChangeExtension(pairs, ".scores.png");

    /// <summary>Writes the pairs, the report and the plot (each atomically) and returns the report.</summary>
    public static PairReport Run(string candidatesFile, string judgmentsFile, string output, PairRule rule, bool overwrite = false)
    {
        rule.Validate();
        var groups = Candidates.Read(candidatesFile);
        var (judge, judgments) = ReadJudgments(judgmentsFile, groups.ToDictionary(g => g.PromptId, g => g.Samples));
        if (judge == "pairwise" && rule.FiltersScores)
            throw new InvalidSettingException(rule.FirstScoreFilter, "applies to pointwise judges (yes/no, additive), and these judgments are pairwise");
        if (judge == "pairwise" && (rule.LengthControl is not null || rule.ScoreStrength))
            throw new InvalidSettingException(rule.LengthControl is not null ? "length_control" : "score_strength",
                "applies to pointwise judges (yes/no, additive), and these judgments are pairwise (they carry their own strength)");
        OutputGuard.ClaimFile(output, "pair", [new("candidates file", candidatesFile), new("judgments file", judgmentsFile)], overwrite,
            ReportPath(output), PlotPath(output));
        RunManifest.Write(OutputGuard.ManifestOf(output), "pair", new JsonObject
        {
            ["candidates"] = Path.GetFullPath(candidatesFile),
            ["candidates_sha256"] = RunManifest.FileSha256(candidatesFile),
            ["judgments"] = Path.GetFullPath(judgmentsFile),
            ["judgments_sha256"] = RunManifest.FileSha256(judgmentsFile),
            ["min_margin"] = rule.MinMargin,
            ["eta"] = rule.Eta,
            ["min_chosen_score"] = rule.MinChosenScore,
            ["max_rejected_score"] = rule.MaxRejectedScore,
            ["min_chosen_quantile"] = rule.MinChosenQuantile,
            ["max_rejected_quantile"] = rule.MaxRejectedQuantile,
            ["length_control"] = rule.LengthControl,
            ["score_strength"] = rule.ScoreStrength,
        });
        // An empty candidate (the model ended at once) has no text to train on, so it is never paired.
        var usable = groups.Select(g => (g.PromptId, Judged: judgments[g.PromptId]
            .Where(j => !string.IsNullOrWhiteSpace(j.First.Text) && (j.Second is null || !string.IsNullOrWhiteSpace(j.Second.Text))).ToList())).ToList();
        var scores = usable.SelectMany(u => u.Judged.Where(j => j.Score is not null).Select(j => j.Score!.Value)).ToList();
        int failures = judge == "pairwise" ? 0 : usable.Sum(u => u.Judged.Sum(j => j.FormatFailures));
        // Quantile bounds are taken over the whole run's scores, so they need every judgment first.
        var (minChosen, maxRejected) = rule.Bounds(scores);
        var noPair = new Dictionary<string, int>();
        var pairs = new List<JsonObject>();
        var lengths = new List<(int Chosen, int Rejected)>();
        foreach (var (promptId, mine) in usable)
        {
            var (pick, why) = judge == "pairwise" ? Pairwise(mine, rule)
                : Pointwise(mine.Where(j => j.Score is not null).Select(j => (j.First, j.Score!.Value)).ToList(), rule, judge, minChosen, maxRejected);
            if (pick is not Pick p)
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
                // Only the yes/no judge categorizes; for the others a category would be a guess.
                ["category"] = mine.FirstOrDefault()?.Category,
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
        var report = new PairReport(groups.Count, pairs.Count, noPair, judge, scores, failures,
            lengths.Count == 0 ? 0 : lengths.Average(l => l.Chosen), lengths.Count == 0 ? 0 : lengths.Average(l => l.Rejected), minChosen, maxRejected);
        AtomicFile.WriteAllText(ReportPath(output), ToJson(report).ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        PairPlots.ScoreHistogram(report, PlotPath(output));
        return report;
    }

    /// <summary>One judgment: a candidate's score (pointwise) or a candidate pair's preference for the first (pairwise, in <see cref="Score"/>).</summary>
    sealed record Judgment(Candidate First, Candidate? Second, double? Score, int FormatFailures, string? Category);

    /// <summary>The pair a prompt gives: the two candidates, their scores and the calibrated strength (pairwise).</summary>
    sealed record Pick(Candidate Chosen, Candidate Rejected, double ScoreChosen, double ScoreRejected, double? Strength);

    /// <summary>The judgments of each prompt, every row checked against the candidates; all rows must come from one judge.</summary>
    static (string Judge, Dictionary<string, List<Judgment>> ByPrompt) ReadJudgments(string file, Dictionary<string, List<Candidate>> candidates)
    {
        var byPrompt = candidates.Keys.ToDictionary(k => k, _ => new List<Judgment>());
        string? judge = null;
        foreach (var row in Jsonl.Read(file))
        {
            string kind = row.String("judge");
            if (kind is not ("yesno" or "additive" or "pairwise" or "verifier" or "command"))
                throw row.Error($"'judge' must be yesno, additive, pairwise, verifier or command, got '{kind}'");
            if (judge is not null && kind != judge) throw row.Error($"'judge' is {kind}, but the rows before it are {judge}; judgments of one file come from one judge");
            judge = kind;
            string id = row.String("prompt_id");
            if (!candidates.TryGetValue(id, out var samples)) throw row.Error($"'prompt_id' '{id}' is not in the candidates file");
            Candidate Sample(string field)
            {
                int index = row.Int(field);
                return samples.Find(c => c.Sample == index) ?? throw row.Error($"'{field}' {index}: prompt '{id}' has no such candidate");
            }
            string? category = row.OptionalString("category");
            if (kind == "pairwise")
            {
                double preference = row.Number("preference");
                if (!(preference is >= 0 and <= 1)) throw row.Error($"'preference' must be in [0, 1], got {preference}");
                byPrompt[id].Add(new Judgment(Sample("first"), Sample("second"), preference, 0, category));
            }
            else
            {
                // A null score is a judgment whose every sample failed to parse.
                int failures = row.Has("format_failures") ? row.Int("format_failures") : 0;
                byPrompt[id].Add(new Judgment(Sample("sample"), null, row.NumberOrNull("score"), failures, category));
            }
        }
        return (judge ?? "none", byPrompt);
    }

    static (Pick?, string?) Pointwise(List<(Candidate C, double S)> scored, PairRule rule, string judge,
        double? minChosen, double? maxRejected)
    {
        if (scored.Count < 2) return (null, FewCandidates);
        // Ties between equal maxima (or minima) go to the earlier sample, so the choice is reproducible.
        var best = scored.MaxBy(s => s.S);
        var worst = scored.MinBy(s => s.S);
        if (best.S == worst.S) return (null, Tie);
        if (rule.LengthControl is double rho)
        {
            // Meta-Rewarding's tiers: the shortest near the top against the longest near the bottom.
            double span = best.S - worst.S, top = best.S - rho * span, bottom = worst.S + rho * span;
            best = scored.Where(s => s.S >= top).MinBy(s => s.C.Text.Length);
            worst = scored.Where(s => s.S <= bottom).MaxBy(s => s.C.Text.Length);
        }
        if (best.S - worst.S < rule.MinMargin) return (null, SmallMargin);
        if (best.C.Text == worst.C.Text) return (null, SameText);
        if (best.S < minChosen) return (null, ChosenTooLow);
        if (worst.S > maxRejected) return (null, RejectedTooHigh);
        double? strength = null;
        if (rule.ScoreStrength)
        {
            double range = judge == "additive" ? 5 : 1;
            strength = PairwiseJudge.Calibrate(Math.Clamp(0.5 + 0.5 * (best.S - worst.S) / range, 0.5, 1), rule.Eta);
        }
        return (new Pick(best.C, worst.C, best.S, worst.S, strength), null);
    }

    static (Pick?, string?) Pairwise(List<Judgment> judged, PairRule rule)
    {
        if (judged.Count == 0) return (null, FewCandidates);
        var strongest = judged.MaxBy(j => Math.Abs(j.Score!.Value - 0.5))!;
        double p = strongest.Score!.Value, strength = Math.Max(p, 1 - p);
        if (strength - 0.5 < rule.MinMargin) return (null, SmallMargin);
        var (winner, loser) = p >= 0.5 ? (strongest.First, strongest.Second!) : (strongest.Second!, strongest.First);
        if (winner.Text == loser.Text) return (null, SameText);
        return (new Pick(winner, loser, strength, 1 - strength, PairwiseJudge.Calibrate(strength, rule.Eta)), null);
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
        ["min_chosen"] = r.MinChosen,
        ["max_rejected"] = r.MaxRejected,
    };
}
