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
            $"(T={Setting(config.Generate.Temperature)}, top-k {config.Generate.TopK}, top-p {Setting(config.Generate.TopP)}), {config.Judge.Kind} judge " +
            $"({Path.GetFileName(config.Judge.Prompts)}, {config.Judge.Category}), {config.Train.Loss} loss (β={Setting(config.Train.Beta)}" +
            (config.Train.NllWeight > 0 ? $", NLL weight {Setting(config.Train.NllWeight)}" : "") + $"), seed {config.Seed}. " +
            (config.SelfInstruct is { } si ? $"Prompts: {(config.Prompts.Length > 0 ? "the pool's slice and " : "")}{si.PerIteration} per iteration written by " +
                $"the {(si.Model is "current" or "start" ? $"{si.Model} model" : $"model `{Path.GetFileName(si.Model)}`")} (self-instruction, `iter-<t>/self-instruct/`). " : "") +
            "Configuration and versions: `manifest.json`.\n");

        if (config.Sft is not null && Read(Path.Combine(run, "sft", TrainStage.SummaryFile)) is JsonObject sft)
        {
            var last = sft["final"]!.AsObject();
            md.AppendLine($"## SFT before iteration 1\n\n{string.Join(" + ", config.Sft.Data.Select(d => $"`{Path.GetFileName(d)}`"))}: {sft["examples"]} examples, {sft["steps"]} steps, " +
                $"last loss {F(last["loss"], "F3")}, {F(sft["train_seconds"], "F1")} s. ![SFT loss](sft/plots/loss.png)\n");
        }

        md.AppendLine("## Pairs and judge statistics\n");
        md.AppendLine("| iteration | prompts | pairs | no pair (why) | judgments | format failures | score mean [min, max] | chosen / rejected length (chars) |");
        md.AppendLine("|---|---:|---:|---|---:|---:|---|---|");
        var iterations = Enumerable.Range(1, config.Iterations).Select(t => (T: t, Dir: Path.Combine(run, $"iter-{t}"))).ToList();
        foreach (var (t, dir) in iterations)
        {
            if (Read(PairStage.ReportPath(Path.Combine(dir, "pairs", "pairs.jsonl"))) is not JsonObject p) continue;
            string why = string.Join(", ", p["no_pair"]!.AsObject().Select(kv => $"{kv.Value} {kv.Key}"));
            md.AppendLine($"| {t} | {p["prompts"]} | {p["pairs"]} | {(why.Length == 0 ? "none" : why)} | {p["judgments"]} | {p["format_failures"]} | " +
                $"{F(p["score_mean"], "F3")} [{F(p["score_min"], "F3")}, {F(p["score_max"], "F3")}] | {F(p["chosen_length_chars"], "F1")} / {F(p["rejected_length_chars"], "F1")} |");
        }

        md.AppendLine("\n## Training (last step)\n");
        md.AppendLine("| iteration | pairs | steps | loss | reward margin | reward accuracy (%) | chosen / rejected length (tokens) | reference pass (s) | training (s) |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---|---:|---:|");
        foreach (var (t, dir) in iterations)
        {
            if (Read(Path.Combine(dir, "train", TrainStage.SummaryFile)) is not JsonObject s) continue;
            var last = s["final"]!.AsObject();
            md.AppendLine($"| {t} | {s["examples"]} | {s["steps"]} | {F(last["loss"], "F3")} | {F(last["rewards/margins"], "F3")} | {Rate(last["rewards/accuracies"])} | " +
                $"{F(last["length/chosen"], "F1")} / {F(last["length/rejected"], "F1")} | {F(s["reference_seconds"], "F1")} | {F(s["train_seconds"], "F1")} |");
        }

        var evaluations = new[] { (Model: "M0", Dir: Path.Combine(run, "m0")) }.Concat(iterations.Select(i => (Model: $"M{i.T}", i.Dir)))
            .Select(e => (e.Model, Metrics: ReadMetrics(Path.Combine(e.Dir, "eval", IterateStage.EvalResults)))).Where(e => e.Metrics is not null).ToList();
        if (evaluations.Count > 0)
        {
            md.AppendLine("\n## Evaluation of each model\n");
            md.AppendLine("M0 is the seed model (after SFT, when there is one); Mt the model after iteration t. Rates are percentages with their 95% interval in brackets.\n");
            md.AppendLine("| model | measure | value | 95% interval | measured on |");
            md.AppendLine("|---|---|---:|---|---:|");
            foreach (var (name, metrics) in evaluations)
                foreach (var m in metrics!)
                    md.AppendLine($"| {name} | {m.Name} | {Value(m.Value, m.Unit)} | {(m.Low is double lo && m.High is double hi ? $"[{Value(lo, m.Unit)}, {Value(hi, m.Unit)}]" : "")} | {m.Samples?.ToString() ?? ""} |");
            // The chart draws the overall rates; per-category rows stay in the table.
            var overall = evaluations.SelectMany(e => e.Metrics!).Where(m => m.Unit == "%" && m.Low is not null && !Judging.Categories.All.Any(c => m.Name.EndsWith(", " + c)))
                .Select(m => m.Name).Distinct().ToList();
            if (overall.Count > 0)
            {
                var series = overall.Select(name => (name, evaluations.Select(e => e.Metrics!.FirstOrDefault(m => m.Name == name) is { } m
                    ? new RatePoint(m.Value, m.Low!.Value, m.High ?? m.Value) : (RatePoint?)null).ToArray())).ToList();
                byte[] png = RateCharts.Lines("evaluation of each model (whiskers: 95% intervals)", "%", evaluations.Select(e => e.Model).ToList(), series);
                AtomicFile.Write(Path.Combine(run, "evaluation.png"), w => w.Write(png));
                md.AppendLine("\n![evaluation of each model](evaluation.png)");
            }
        }

        md.AppendLine("\n## Plots\n");
        foreach (var (t, dir) in iterations)
        {
            var links = new List<string>();
            string scores = PairStage.PlotPath(Path.Combine(dir, "pairs", "pairs.jsonl"));
            if (File.Exists(scores)) links.Add($"![iteration {t} judge scores](iter-{t}/pairs/{Path.GetFileName(scores)})");
            foreach (var png in new[] { "loss.png", "rewards.png", "accuracy.png", "lengths.png" })
                if (File.Exists(Path.Combine(dir, "train", "plots", png))) links.Add($"![iteration {t} {png[..^4]}](iter-{t}/train/plots/{png})");
            if (links.Count > 0) md.AppendLine($"Iteration {t}:\n\n" + string.Join("\n", links) + "\n");
        }
        AtomicFile.WriteAllText(Path.Combine(run, "report.md"), md.ToString());
    }

    static JsonObject? Read(string path) => File.Exists(path) ? JsonObject.Create(Data.JsonRecords.ReadDocument(path)) : null;

    /// <summary>The metrics an evaluation wrote, or null when it has not run.</summary>
    public static List<EvalMetric>? ReadMetrics(string path)
    {
        if (!File.Exists(path)) return null;
        var root = Data.JsonRecords.ReadDocument(path);
        try
        {
            return root.EnumerateArray().Select(m => EvalMetric.FromJson(JsonObject.Create(m)!)).ToList();
        }
        catch (Exception e) when (e is InvalidOperationException or NullReferenceException or FormatException)
        {
            throw new Data.DataFormatException(path, 1, "not a list of evaluation metrics (name, value, unit, ...); delete it to evaluate again");
        }
    }

    /// <summary>A value in its unit: rates (unit "%") as percentages with one decimal.</summary>
    static string Value(double value, string unit) =>
        unit == "%" ? (100 * value).ToString("F1", CultureInfo.InvariantCulture) + "%" : $"{value.ToString("0.##", CultureInfo.InvariantCulture)} {unit}".TrimEnd();

    /// <summary>A number of a summary in a fixed format, so that a column's digits line up.</summary>
    static string F(JsonNode? value, string format) => Number(value) is double d ? d.ToString(format, CultureInfo.InvariantCulture) : "n/a";

    /// <summary>A rate of a summary as a whole percentage (the column names the unit).</summary>
    static string Rate(JsonNode? value) => Number(value) is double d ? (100 * d).ToString("F0", CultureInfo.InvariantCulture) : "n/a";

    static double? Number(JsonNode? value) => value is JsonValue v && v.TryGetValue<double>(out double d) ? d : null;

    /// <summary>A configured value as the user wrote it (no trailing zeros).</summary>
    static string Setting(double d) => d.ToString("0.####", CultureInfo.InvariantCulture);
}
