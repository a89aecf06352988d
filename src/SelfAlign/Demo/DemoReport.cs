using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SelfAlign.Evaluation;
using SelfAlign.IO;
using SelfAlign.Judging;
using SelfAlign.Pipeline;

namespace SelfAlign.Demo;

/// <summary>A paper's claim, checked on this run's numbers.</summary>
/// <param name="Claim">What the papers say.</param>
/// <param name="Holds">Whether this run's numbers show it.</param>
/// <param name="Evidence">The numbers.</param>
public sealed record ClaimCheck(string Claim, bool Holds, string Evidence);

/// <summary>The demo's <c>report.md</c>, <c>summary.json</c> and plots.</summary>
public static class DemoReport
{
    /// <summary>The name of the sampled-success metric the loop's evaluation writes.</summary>
    public const string Sampled = "policy success, sampled";
    /// <summary>The name of the greedy-success metric.</summary>
    public const string Greedy = "policy success, greedy";

    /// <summary>The papers' claims, each checked on <paramref name="result"/>.</summary>
    public static IReadOnlyList<ClaimCheck> Claims(DemoResult result)
    {
        var claims = new List<ClaimCheck>();
        var yesno = result.Judges.First(j => j.Judge == "yesno");
        var additive = result.Judges.First(j => j.Judge == "additive");
        claims.Add(new ClaimCheck("The yes/no judge is more accurate than the additive one (IPO)", yesno.Overall.Rate > additive.Overall.Rate,
            $"yes/no {Pct(yesno.Overall)}, additive {Pct(additive.Overall)} with {additive.Ties} ties and {additive.FormatFailures} format failures"));
        LoopPoint Point(string method, int t) => result.Loops.First(p => p.Method == method && p.Iteration == t);
        int last = result.Plan.Iterations;
        var m0 = Point("yesno-dpo", 0).Rate(Sampled)!.Value;
        var mt = Point("yesno-dpo", last).Rate(Sampled)!.Value;
        var gain = PairedGain.Of(Point("yesno-dpo", 0).SampledByTask, Point("yesno-dpo", last).SampledByTask);
        claims.Add(new ClaimCheck($"Self-judged DPO (yes/no judge) raises sampled success over M0, interval excluding zero", gain is { Low: > 0 },
            $"M0 {Pct(m0)}, M{last} {Pct(mt)}: " + (gain is { } g ? $"{Signed(g.Gain)} points [{Signed(g.Low)}, {Signed(g.High)}] over {g.Tasks} tasks" : "no paired responses")));
        var oracle = Point("verifier-dpo", last).Rate(Sampled)!.Value;
        // Half the oracle's gain is "approaching" only when the oracle gained for sure: half of nothing is no evidence.
        var oracleGain = PairedGain.Of(Point("verifier-dpo", 0).SampledByTask, Point("verifier-dpo", last).SampledByTask);
        bool oracleGained = oracleGain is { Low: > 0 };
        claims.Add(new ClaimCheck("Self-judged DPO approaches the oracle (verifier) run", oracleGained && mt.Rate >= m0.Rate + 0.5 * (oracle.Rate - m0.Rate),
            $"yes/no M{last} {Pct(mt)}, oracle M{last} {Pct(oracle)}, M0 {Pct(m0)}: " + (oracleGained
                ? string.Create(CultureInfo.InvariantCulture, $"{100 * (mt.Rate - m0.Rate) / (oracle.Rate - m0.Rate):F0}% of the oracle's gain")
                : oracleGain is { } o ? $"the oracle's own gain, {Signed(o.Gain)} points [{Signed(o.Low)}, {Signed(o.High)}], is not clear of zero" : "no paired responses")));
        if (last >= 2)
        {
            // "Less" than a first step that may have been nothing says nothing: the first must have helped for sure.
            var firstGain = PairedGain.Of(Point("yesno-dpo", 0).SampledByTask, Point("yesno-dpo", 1).SampledByTask);
            double first = Point("yesno-dpo", 1).Value(Sampled)!.Value - m0.Rate, later = mt.Rate - Point("yesno-dpo", last - 1).Value(Sampled)!.Value;
            claims.Add(new ClaimCheck("Later iterations help less (yes/no judge)", firstGain is { Low: > 0 } && later < first,
                $"iteration 1: {Signed(first)} points" + (firstGain is { } f ? $" [{Signed(f.Low)}, {Signed(f.High)}]" : "") + $", iteration {last}: {Signed(later)} points"));
        }
        return claims;
    }

    /// <summary>Writes the report, the summary and the plots into <paramref name="outDir"/>.</summary>
    public static void Write(string outDir, DemoOptions options, DemoResult result)
    {
        var claims = Claims(result);
        var judgeNames = result.Judges.Select(j => j.Judge).ToList();
        AtomicFile.Write(Path.Combine(outDir, "judge_accuracy.png"), s => s.Write(RateCharts.GroupedBars(
            "judge accuracy on the held-out benchmark (whiskers: 95% intervals; dashed: chance)", "accuracy %",
            [.. Categories.All, "overall"], result.Judges.Select(j => (j.Judge, Categories.All.Select(c => j.ByCategory.TryGetValue(c, out var r) ? r : (RatePoint?)null)
                .Append(j.Overall).ToArray())).ToList(), reference: 50)));
        var models = Enumerable.Range(0, result.Plan.Iterations + 1).Select(t => $"M{t}").ToList();
        foreach (var (file, metric, what) in new[] { ("success_sampled.png", Sampled, "sampled (T=0.7)"), ("success_greedy.png", Greedy, "greedy") })
            AtomicFile.Write(Path.Combine(outDir, file), s => s.Write(RateCharts.Lines($"true success on the held-out test set, {what}", "success % (whiskers: 95% intervals)", models,
                DemoPlan.Methods.Select(m => (m.Label, Enumerable.Range(0, models.Count).Select(t => result.Loops.FirstOrDefault(p => p.Method == m.Name && p.Iteration == t)?.Rate(metric)).ToArray())).ToList())));

        var md = new StringBuilder();
        md.AppendLine($"# SelfAlign demo{(options.Quick ? " (quick)" : "")}, seed {options.Seed}\n");
        md.AppendLine("A model trained from scratch on a task world with exact verifiers judges its own answers and trains on its own judgments. " +
            string.Create(CultureInfo.InvariantCulture, $"Everything below was measured in this run ({result.Seconds / 60:F1} min on {Environment.ProcessorCount} cores).\n"));
        var w = result.Plan.Seed.World;
        md.AppendLine($"Seed model M0: Llama architecture, {result.Plan.Seed.Layers} layers, hidden {result.Plan.Seed.Hidden}, {result.Parameters:N0} parameters, " +
            $"byte-level BPE of {result.Plan.Seed.VocabSize} tokens trained on the world's text; SFT from scratch on {w.PolicyExamples} answers (right {100 * w.PolicyAccuracy:F0}% of the time) " +
            $"and {w.YesNoExamples + w.AdditiveExamples + w.PairwiseExamples + w.CategoryExamples} correctly labelled judge rows, {result.Plan.Seed.Epochs} epochs. Folder: `{result.SeedModel.Model}`.\n");

        md.AppendLine("## The papers' claims in this run\n");
        md.AppendLine("| claim | holds | evidence |\n|---|---|---|");
        foreach (var c in claims) md.AppendLine($"| {c.Claim} | {(c.Holds ? "yes" : "**no**")} | {c.Evidence} |");

        md.AppendLine("\n## Judges on the held-out preference benchmark\n");
        md.AppendLine($"{result.Judges[0].ByCategory.Count} categories, each a correct chosen and a verified-wrong rejected response; accuracy with ties counted half, 95% intervals in brackets.\n");
        md.AppendLine($"| judge | {string.Join(" | ", Categories.All)} | overall (mean of categories) | ties | format failures |");
        md.AppendLine($"|---|{string.Concat(Categories.All.Select(_ => "---:|"))}---:|---:|---:|");
        foreach (var j in result.Judges)
            md.AppendLine($"| {j.Judge} | {string.Join(" | ", Categories.All.Select(c => j.ByCategory.TryGetValue(c, out var r) ? WithCi(r) : "n/a"))} | **{WithCi(j.Overall)}** | {j.Ties} | {j.FormatFailures} |");
        md.AppendLine("\n![judge accuracy](judge_accuracy.png)\n\nPer-record verdicts and each judge's own report: `bench/<judge>/`.\n");

        md.AppendLine("## True success of every model on the held-out test set\n");
        md.AppendLine($"{result.Plan.Iterations} iteration(s) per method, {result.Plan.PromptsPerIteration} prompts and {result.Plan.Samples} candidates each, DPO/PSO with the chosen NLL term " +
            "and the judge rows mixed back in. Sampled: T=0.7, top-k 40, every sample counted; greedy: one answer per task. " +
            "Pair precision: share of training pairs whose chosen answer is right and rejected wrong (by the verifier). " +
            "Judge on own samples: how often the loop's judge ranked a right candidate over a wrong one of the same prompt.\n");
        md.AppendLine("| method | model | sampled success | greedy success | mean length (tokens) | pairs | pair precision | judge on own samples |");
        md.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|");
        foreach (var m in DemoPlan.Methods)
            foreach (var p in result.Loops.Where(p => p.Method == m.Name))
                md.AppendLine($"| {m.Label} | M{p.Iteration} | {Ci(p.Rate(Sampled))} | {Ci(p.Rate(Greedy))} | {F(p.Value("mean response length, sampled"))} | " +
                    $"{p.Pairs?.ToString() ?? ""} | {Ci(p.PairPrecision)} | {Ci(p.OwnSampleAccuracy)} |");
        md.AppendLine("\n![sampled success](success_sampled.png)\n\n![greedy success](success_greedy.png)\n");

        md.AppendLine("### Sampled success by category\n");
        md.AppendLine($"| method | model | {string.Join(" | ", Categories.All)} |\n|---|---|{string.Concat(Categories.All.Select(_ => "---:|"))}");
        foreach (var m in DemoPlan.Methods)
            foreach (var p in result.Loops.Where(p => p.Method == m.Name))
                md.AppendLine($"| {m.Label} | M{p.Iteration} | {string.Join(" | ", Categories.All.Select(c => Ci(p.Rate($"{Sampled}, {c}"))))} |");
        md.AppendLine("\n### Judge on own samples by category\n");
        md.AppendLine("Where the loop's judge tells its model's right candidates from its wrong ones, and so where self-judged training can help " +
            "(iteration t judges the candidates of M(t-1)).\n");
        md.AppendLine($"| method | iteration | {string.Join(" | ", Categories.All)} |\n|---|---|{string.Concat(Categories.All.Select(_ => "---:|"))}");
        foreach (var m in DemoPlan.Methods)
            foreach (var p in result.Loops.Where(p => p.Method == m.Name && p.Iteration > 0))
                md.AppendLine($"| {m.Label} | {p.Iteration} | {string.Join(" | ", Categories.All.Select(c => Ci(p.OwnSampleByCategory.TryGetValue(c, out var r) ? r : null)))} |");
        md.AppendLine("\nEach loop's own report (pairs, training curves, every model's evaluation): `runs/<method>/report.md`.");
        AtomicFile.WriteAllText(Path.Combine(outDir, "report.md"), md.ToString());
        AtomicFile.WriteAllText(Path.Combine(outDir, "summary.json"), Summary(options, result, claims).ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    static JsonObject Summary(DemoOptions options, DemoResult result, IReadOnlyList<ClaimCheck> claims)
    {
        JsonNode? Point(RatePoint? p) => p is { } r ? new JsonObject { ["rate"] = r.Rate, ["ci95_low"] = r.Low, ["ci95_high"] = r.High } : null;
        return new JsonObject
        {
            ["quick"] = options.Quick,
            ["seed"] = options.Seed,
            ["seconds"] = Math.Round(result.Seconds, 1),
            ["seed_model"] = result.SeedModel.Model,
            ["parameters"] = result.Parameters,
            ["judges"] = new JsonArray(result.Judges.Select(j => (JsonNode?)new JsonObject
            {
                ["judge"] = j.Judge, ["overall"] = Point(j.Overall), ["ties"] = j.Ties, ["format_failures"] = j.FormatFailures,
                ["by_category"] = new JsonObject(j.ByCategory.Select(kv => KeyValuePair.Create(kv.Key, Point(kv.Value)))),
            }).ToArray()),
            ["loops"] = new JsonArray(result.Loops.Select(p => (JsonNode?)new JsonObject
            {
                ["method"] = p.Method, ["model"] = $"M{p.Iteration}", ["sampled"] = Point(p.Rate(Sampled)), ["greedy"] = Point(p.Rate(Greedy)),
                ["mean_tokens_sampled"] = p.Value("mean response length, sampled"), ["pairs"] = p.Pairs,
                ["pair_precision"] = Point(p.PairPrecision), ["judge_on_own_samples"] = Point(p.OwnSampleAccuracy),
                ["judge_on_own_samples_by_category"] = new JsonObject(p.OwnSampleByCategory.Select(kv => KeyValuePair.Create(kv.Key, Point(kv.Value)))),
            }).ToArray()),
            ["claims"] = new JsonArray(claims.Select(c => (JsonNode?)new JsonObject { ["claim"] = c.Claim, ["holds"] = c.Holds, ["evidence"] = c.Evidence }).ToArray()),
        };
    }

    /// <summary>A rate as a percentage with one decimal.</summary>
    public static string Pct(RatePoint r) => (100 * r.Rate).ToString("F1", CultureInfo.InvariantCulture) + "%";

    /// <summary>A rate with its interval, or empty.</summary>
    public static string Ci(RatePoint? r) => r is { } p ? WithCi(p) : "";

    static string WithCi(RatePoint r) => string.Create(CultureInfo.InvariantCulture, $"{100 * r.Rate:F1} [{100 * r.Low:F1}, {100 * r.High:F1}]");

    static string Signed(double fraction) => (100 * fraction).ToString("+0.0;-0.0;0.0", CultureInfo.InvariantCulture);

    static string F(double? d) => d?.ToString("F1", CultureInfo.InvariantCulture) ?? "";
}
