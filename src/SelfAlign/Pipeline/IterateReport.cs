using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using SelfAlign.IO;

namespace SelfAlign.Pipeline;

/// <summary><c>report.md</c> of a loop run: per iteration the pairs, the judge's statistics, training and evaluation, with plots.</summary>
public static class IterateReport
{
    /// <summary>Writes <c>report.md</c> into the run folder from what the iterations left there.</summary>
    public static void Write(string run, IterateConfig config)
    {
        var md = new StringBuilder();
        md.AppendLine($"# Self-improvement run `{config.Name}`\n");
        md.AppendLine($"Seed model `{Path.GetFileName(config.SeedModel)}`, {config.Iterations} iteration(s), {config.Generate.Samples} candidates per prompt " +
            $"(T={F(config.Generate.Temperature)}, top-k {config.Generate.TopK}, top-p {F(config.Generate.TopP)}), {config.Judge.Kind} judge " +
            $"({config.Judge.Prompts}, {config.Judge.Category}), {config.Train.Loss} loss (β={F(config.Train.Beta)}" +
            (config.Train.NllWeight > 0 ? $", NLL weight {F(config.Train.NllWeight)}" : "") + $"), seed {config.Seed}. Configuration and versions: `manifest.json`.\n");

        if (config.Sft is not null && Read(Path.Combine(run, "sft", TrainStage.SummaryFile)) is JsonObject sft)
        {
            var last = sft["final"]!.AsObject();
            md.AppendLine($"## SFT before iteration 1\n\n`{Path.GetFileName(config.Sft.Data)}`: {sft["examples"]} examples, {sft["steps"]} steps, " +
                $"last loss {F(last["loss"])}, {F(sft["train_seconds"])} s. ![SFT loss](sft/plots/loss.png)\n");
        }

        md.AppendLine("## Pairs and judge statistics\n");
        md.AppendLine("| iteration | prompts | pairs | no pair (why) | judgments | format failures | score mean [min, max] | chosen / rejected length (chars) |");
        md.AppendLine("|---|---:|---:|---|---:|---:|---|---|");
        var iterations = Enumerable.Range(1, config.Iterations).Select(t => (T: t, Dir: Path.Combine(run, $"iter-{t}"))).ToList();
        foreach (var (t, dir) in iterations)
        {
            if (Read(Path.Combine(dir, "pairs", "report.json")) is not JsonObject p) continue;
            string why = string.Join(", ", p["no_pair"]!.AsObject().Select(kv => $"{kv.Value} {kv.Key}"));
            md.AppendLine($"| {t} | {p["prompts"]} | {p["pairs"]} | {(why.Length == 0 ? "none" : why)} | {p["judgments"]} | {p["format_failures"]} | " +
                $"{F(p["score_mean"])} [{F(p["score_min"])}, {F(p["score_max"])}] | {F(p["chosen_length_chars"])} / {F(p["rejected_length_chars"])} |");
        }

        md.AppendLine("\n## Training (last step)\n");
        md.AppendLine("| iteration | pairs | steps | loss | reward margin | reward accuracy | chosen / rejected length (tokens) | reference pass (s) | training (s) |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---|---:|---:|");
        foreach (var (t, dir) in iterations)
        {
            if (Read(Path.Combine(dir, "train", TrainStage.SummaryFile)) is not JsonObject s) continue;
            var last = s["final"]!.AsObject();
            md.AppendLine($"| {t} | {s["examples"]} | {s["steps"]} | {F(last["loss"])} | {F(last["rewards/margins"])} | {F(last["rewards/accuracies"])} | " +
                $"{F(last["length/chosen"])} / {F(last["length/rejected"])} | {F(s["reference_seconds"])} | {F(s["train_seconds"])} |");
        }

        if (iterations.Any(i => File.Exists(Path.Combine(i.Dir, "eval", "results.json"))))
        {
            md.AppendLine("\n## Evaluation after each iteration\n");
            foreach (var (t, dir) in iterations)
                if (Read(Path.Combine(dir, "eval", "results.json")) is JsonObject e)
                    md.AppendLine($"- iteration {t}: " + string.Join(", ", e.Select(kv => $"{kv.Key} {F(kv.Value)}")));
        }

        md.AppendLine("\n## Plots\n");
        foreach (var (t, dir) in iterations)
        {
            var links = new List<string>();
            if (File.Exists(Path.Combine(dir, "pairs", "scores.png"))) links.Add($"![iteration {t} judge scores](iter-{t}/pairs/scores.png)");
            foreach (var png in new[] { "loss.png", "rewards.png", "accuracy.png", "lengths.png" })
                if (File.Exists(Path.Combine(dir, "train", "plots", png))) links.Add($"![iteration {t} {png[..^4]}](iter-{t}/train/plots/{png})");
            if (links.Count > 0) md.AppendLine($"Iteration {t}:\n\n" + string.Join("\n", links) + "\n");
        }
        AtomicFile.WriteAllText(Path.Combine(run, "report.md"), md.ToString());
    }

    static JsonObject? Read(string path) => File.Exists(path) ? JsonNode.Parse(File.ReadAllText(path))?.AsObject() : null;

    static string F(JsonNode? value) => value is JsonValue v && v.TryGetValue<double>(out double d) ? F(d) : "n/a";

    static string F(double d) => d.ToString(Math.Abs(d) >= 100 ? "F1" : "0.####", CultureInfo.InvariantCulture);
}
