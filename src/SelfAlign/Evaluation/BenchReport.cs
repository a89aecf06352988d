using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SelfAlign.IO;
using SelfAlign.Judging;

namespace SelfAlign.Evaluation;

/// <summary>Writes a benchmark run's <c>results.json</c>, <c>report.md</c> and <c>accuracy.png</c>.</summary>
public static class BenchReport
{
    /// <summary>Everything the report says besides the accuracies.</summary>
    /// <param name="Judge">The judge's name.</param>
    /// <param name="Settings">The judge's settings.</param>
    /// <param name="Model">The model folder.</param>
    /// <param name="Data">The benchmark files or folders.</param>
    /// <param name="Skipped">Malformed records skipped.</param>
    /// <param name="Run">This run's work and speed.</param>
    public sealed record Context(string Judge, JsonObject Settings, string Model, IReadOnlyList<string> Data,
        IReadOnlyList<SkippedRecord> Skipped, BenchRun Run);

    /// <summary>Writes the three files into <paramref name="outDir"/>, each replaced atomically.</summary>
    public static void Write(string outDir, BenchAccuracy accuracy, Context context)
    {
        var confusion = context.Run.Categories.Count > 0 ? ConfusionMatrix.Of(context.Run.Categories, Categories.All) : null;
        AtomicFile.WriteAllText(Path.Combine(outDir, "results.json"), Json(accuracy, context, confusion).ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        AtomicFile.WriteAllText(Path.Combine(outDir, "report.md"), Markdown(accuracy, context, confusion));
        AtomicFile.Write(Path.Combine(outDir, "accuracy.png"), s => s.Write(Chart(accuracy, context.Judge)));
    }

    static JsonObject Json(BenchAccuracy a, Context c, ConfusionMatrix? confusion) => new()
    {
        ["judge"] = c.Judge,
        ["settings"] = c.Settings.DeepClone(),
        ["model"] = c.Model,
        ["data"] = new JsonArray([.. c.Data.Select(d => (JsonNode?)d)]),
        ["ties"] = a.Ties == TieRule.Half ? "half" : "wrong",
        ["records"] = a.Records,
        ["overall"] = a.Overall,
        ["overall_ci95"] = Interval(a.OverallInterval),
        ["sections"] = new JsonArray([.. a.Sections.Select(s => (JsonNode?)new JsonObject
        {
            ["section"] = s.Section, ["records"] = s.Records, ["accuracy"] = s.Accuracy, ["accuracy_ci95"] = Interval(s.Interval),
        })]),
        ["subsets"] = new JsonArray([.. a.Subsets.Select(s => (JsonNode?)new JsonObject
        {
            ["subset"] = s.Subset, ["section"] = s.Section, ["records"] = s.Records, ["accuracy"] = s.Accuracy, ["accuracy_ci95"] = Interval(s.Interval),
            ["ties"] = s.Ties, ["format_failures"] = s.FormatFailures, ["mean_chosen"] = s.MeanChosen, ["mean_rejected"] = s.MeanRejected,
            ["rm_bench"] = Levels(s.Levels),
        })]),
        ["rm_bench"] = Levels(a.Levels),
        ["rewardbench"] = a.RewardBench is not { } rb ? null : new JsonObject
        {
            ["sections"] = new JsonObject(rb.Sections.Select(x => KeyValuePair.Create(x.Section, (JsonNode?)x.Accuracy))),
            ["prior_sets"] = rb.PriorSets,
            ["score"] = rb.Score,
            ["section_mean"] = rb.SectionMean,
            ["unofficial_subsets"] = new JsonArray([.. rb.Unofficial.Select(n => (JsonNode?)n)]),
        },
        ["rm_bench_score"] = a.RmBench is not { } rm ? null : new JsonObject
        {
            ["domains"] = new JsonArray([.. rm.Domains.Select(d => (JsonNode?)new JsonObject { ["domain"] = d.Domain, ["records"] = d.Records, ["accuracy"] = d.Accuracy })]),
            ["easy"] = rm.Levels.Easy, ["normal"] = rm.Levels.Normal, ["hard"] = rm.Levels.Hard,
            ["overall"] = rm.Overall,
            ["ties"] = "wrong",
        },
        ["length_split"] = a.Length is not { } len ? null : new JsonObject
        {
            ["chosen_longer"] = len.ChosenLonger, ["chosen_longer_comparisons"] = len.LongerCount,
            ["chosen_shorter"] = len.ChosenShorter, ["chosen_shorter_comparisons"] = len.ShorterCount,
        },
        ["tie_count"] = a.TieCount,
        ["format_failures"] = a.FormatFailures,
        ["skipped_invalid"] = c.Skipped.Count,
        ["skipped"] = new JsonArray([.. c.Skipped.Select(s => (JsonNode?)new JsonObject { ["file"] = s.File, ["line"] = s.Line, ["reason"] = s.Reason })]),
        ["throughput"] = new JsonObject
        {
            ["records"] = c.Run.NewRecords, ["comparisons"] = c.Run.NewComparisons, ["seconds"] = c.Run.Seconds,
            ["records_per_second"] = Rate(c.Run.NewRecords, c.Run.Seconds), ["comparisons_per_second"] = Rate(c.Run.NewComparisons, c.Run.Seconds),
        },
        ["categorizer"] = confusion is null ? null : new JsonObject
        {
            ["labels"] = new JsonArray([.. confusion.Labels.Select(l => (JsonNode?)l)]),
            ["counts"] = new JsonArray([.. confusion.Counts.Select(r => (JsonNode?)new JsonArray([.. r.Select(x => (JsonNode?)x)]))]),
            ["accuracy"] = confusion.Accuracy,
        },
    };

    static JsonArray Interval((double Low, double High) ci) => new(ci.Low, ci.High);

    /// <summary>The summary lines of a run: the benchmarks' own published scores (when it has their subsets) and the accuracy split by length.</summary>
    public static IEnumerable<string> SummaryLines(BenchAccuracy a)
    {
        if (a.RewardBench is { } rb)
        {
            string sections = string.Join(", ", rb.Sections.Select(x => $"{x.Section} {(x.Accuracy is double v ? Pct(v) : "n/a")}"));
            yield return $"RewardBench score (official subset weights; sections 2 : prior sets 1): {Pct(rb.Score)}% ({sections}" +
                (rb.PriorSets is double p ? $", prior sets {Pct(p)}" : "") + ")" +
                (rb.SectionMean is double m ? $"; mean of the sections (the IPO paper's headline): {Pct(m)}%" : "") +
                (rb.Unofficial.Count > 0 ? $"; not RewardBench subsets, left out: {string.Join(", ", rb.Unofficial)}" : "");
        }
        if (a.RmBench is { } rm)
            yield return $"RM-Bench score (ties wrong, mean of domains): {Pct(rm.Overall)}% ({string.Join(", ", rm.Domains.Select(d => $"{d.Domain} {Pct(d.Accuracy)}"))}; " +
                $"easy {Pct(rm.Levels.Easy)}, normal {Pct(rm.Levels.Normal)}, hard {Pct(rm.Levels.Hard)})";
        if (a.Length is { } len)
            yield return $"Length: accuracy {(len.ChosenLonger is double l ? Pct(l) + "%" : "n/a")} where the chosen response is longer ({len.LongerCount} comparisons), " +
                $"{(len.ChosenShorter is double sh ? Pct(sh) + "%" : "n/a")} where it is shorter ({len.ShorterCount}); a judge that favours length scores higher on the first";
    }

    /// <summary>An accuracy and its 95% interval as "61.25 [48.9, 72.3]" (percent).</summary>
    public static string WithInterval(double rate, (double Low, double High) ci) => $"{Pct(rate)} {Brackets(ci)}";

    /// <summary>A 95% interval as "[48.9, 72.3]" (percent).</summary>
    public static string Brackets((double Low, double High) ci) =>
        $"[{(100 * ci.Low).ToString("F1", CultureInfo.InvariantCulture)}, {(100 * ci.High).ToString("F1", CultureInfo.InvariantCulture)}]";

    /// <summary>Settings as "name value, name value" (the report's reading of a judge's JSON settings).</summary>
    public static string Describe(JsonObject settings) => settings.Count == 0 ? "defaults"
        : string.Join(", ", settings.Select(kv => $"{kv.Key.Replace('_', ' ')} {(kv.Value is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : kv.Value?.ToJsonString() ?? "none")}"));

    static JsonObject? Levels(StyleLevels? l) => l is null ? null : new JsonObject { ["easy"] = l.Easy, ["normal"] = l.Normal, ["hard"] = l.Hard };
    static double? Rate(int n, double s) => s > 0 ? n / s : null;

    static string Pct(double x) => (100 * x).ToString("F2", CultureInfo.InvariantCulture);
    static string Num(double? x) => x is double v ? v.ToString("F3", CultureInfo.InvariantCulture) : "-";

    static string Markdown(BenchAccuracy a, Context c, ConfusionMatrix? confusion)
    {
        var md = new StringBuilder();
        md.AppendLine($"# Preference benchmark: {c.Judge} judge\n");
        md.AppendLine($"Model `{c.Model}`; data {string.Join(", ", c.Data.Select(d => $"`{d}`"))}.");
        md.AppendLine($"Judge settings: {Describe(c.Settings)}.");
        md.AppendLine($"{a.Records} records; ties count as {(a.Ties == TieRule.Half ? "half a win" : "wrong")} ({a.TieCount} tied comparisons); " +
            $"{a.FormatFailures} format failures; {c.Skipped.Count} malformed records skipped.\n");
        md.AppendLine($"**Overall (mean of sections): {Pct(a.Overall)}%** (95% interval {Brackets(a.OverallInterval)})\n");
        foreach (string line in SummaryLines(a)) md.AppendLine($"- {line}");
        if (a.RewardBench is not null || a.RmBench is not null || a.Length is not null) md.AppendLine();
        md.AppendLine("Accuracies are percentages with their 95% interval in brackets (Wilson, over the records); chance is 50%.\n");
        md.AppendLine("| section | records | accuracy % [95% CI] |\n|---|---:|---:|");
        foreach (var s in a.Sections) md.AppendLine($"| {s.Section} | {s.Records} | {WithInterval(s.Accuracy, s.Interval)} |");
        md.AppendLine("\n| subset | section | records | accuracy % [95% CI] | ties | format failures | mean chosen score | mean rejected score |\n|---|---|---:|---:|---:|---:|---:|---:|");
        foreach (var s in a.Subsets)
            md.AppendLine($"| {s.Subset} | {s.Section} | {s.Records} | {WithInterval(s.Accuracy, s.Interval)} | {s.Ties} | {s.FormatFailures} | {Num(s.MeanChosen)} | {Num(s.MeanRejected)} |");
        if (a.Levels is not null)
        {
            md.AppendLine("\nRM-Bench style levels (easy: chosen more styled than rejected; hard: less):\n");
            md.AppendLine("| subset | easy % | normal % | hard % |\n|---|---:|---:|---:|");
            foreach (var s in a.Subsets.Where(s => s.Levels is not null))
                md.AppendLine($"| {s.Subset} | {Pct(s.Levels!.Easy)} | {Pct(s.Levels.Normal)} | {Pct(s.Levels.Hard)} |");
            md.AppendLine($"| all | {Pct(a.Levels.Easy)} | {Pct(a.Levels.Normal)} | {Pct(a.Levels.Hard)} |");
        }
        if (confusion is not null)
        {
            md.AppendLine($"\nCategorizer vs the data's categories ({confusion.Total} records, {Pct(confusion.Accuracy)}% agree):\n");
            md.AppendLine(confusion.ToMarkdown());
        }
        md.AppendLine($"\nThis run judged {c.Run.NewRecords} records ({c.Run.NewComparisons} comparisons) in {c.Run.Seconds:F1} s" +
            (c.Run.Seconds > 0 ? $": {c.Run.NewComparisons / c.Run.Seconds:F2} comparisons/s." : "."));
        md.AppendLine("\n![subset accuracy](accuracy.png)");
        return md.ToString();
    }

    static byte[] Chart(BenchAccuracy a, string judge)
    {
        var plot = new ScottPlot.Plot();
        var subsets = a.Subsets.Reverse().ToArray();
        var bars = plot.Add.Bars(subsets.Select(s => 100 * s.Accuracy).ToArray());
        bars.Horizontal = true;
        for (int i = 0; i < subsets.Length; i++)
        {
            // A whisker across each bar: its 95% interval.
            var whisker = plot.Add.Line(100 * subsets[i].Interval.Low, i, 100 * subsets[i].Interval.High, i);
            whisker.Color = ScottPlot.Colors.Black;
            whisker.LineWidth = 2;
        }
        plot.Axes.Left.SetTicks(Enumerable.Range(0, subsets.Length).Select(i => (double)i).ToArray(), subsets.Select(s => $"{s.Subset} ({s.Records})").ToArray());
        var chance = plot.Add.VerticalLine(50);
        chance.LinePattern = ScottPlot.LinePattern.Dashed;
        plot.Axes.SetLimitsX(0, 100);
        plot.Title($"{judge} judge: subset accuracy (%), overall {Pct(a.Overall)}");
        plot.XLabel("accuracy % (whiskers: 95% interval; dashed: chance)");
        return plot.GetImageBytes(900, 120 + 28 * subsets.Length, ScottPlot.ImageFormat.Png);
    }
}
