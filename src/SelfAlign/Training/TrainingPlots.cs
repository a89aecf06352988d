using System.Text.Json.Nodes;
using SelfAlign.IO;

namespace SelfAlign.Training;

/// <summary>PNG line charts of a run's <c>metrics.jsonl</c>, one per group of related metrics.</summary>
public static class TrainingPlots
{
    /// <summary>Charts and the metrics each one draws (a chart is skipped when the run logged none of them).</summary>
    public static IReadOnlyList<(string File, string Title, string[] Metrics)> Charts { get; } =
    [
        ("loss.png", "loss", ["loss", "nll_loss"]),
        ("rewards.png", "implicit rewards (β · log-ratio)", ["rewards/chosen", "rewards/rejected", "rewards/margins"]),
        ("accuracy.png", "reward accuracy (margin > 0)", ["rewards/accuracies"]),
        ("lengths.png", "response length (tokens)", ["length/chosen", "length/rejected"]),
        ("learning_rate.png", "learning rate", ["learning_rate"]),
        ("grad_norm.png", "gradient norm (before clipping)", ["grad_norm"]),
    ];

    /// <summary>Writes the charts of <paramref name="metricsFile"/> into <paramref name="folder"/>; returns the files written.</summary>
    public static List<string> Write(string metricsFile, string folder)
    {
        var rows = File.ReadLines(metricsFile).Where(l => l.Length > 0).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        var written = new List<string>();
        if (rows.Count == 0) return written;
        Directory.CreateDirectory(folder);
        foreach (var (file, title, metrics) in Charts)
        {
            var present = metrics.Where(m => rows.Any(r => r[m] is not null)).ToArray();
            if (present.Length == 0) continue;
            var plot = new ScottPlot.Plot();
            foreach (var metric in present)
            {
                var points = rows.Where(r => r[metric] is not null).ToArray();
                var line = plot.Add.ScatterLine(points.Select(r => (double)r["step"]!).ToArray(), points.Select(r => (double)r[metric]!).ToArray());
                line.LegendText = metric;
                line.MarkerSize = rows.Count > 40 ? 0 : 4;
            }
            // Beside the chart, not over it; steps are whole numbers.
            if (present.Length > 1) plot.ShowLegend(ScottPlot.Edge.Right);
            plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
            plot.Title(title);
            plot.XLabel("optimizer step");
            string path = Path.Combine(folder, file);
            byte[] png = plot.GetImageBytes(800, 420, ScottPlot.ImageFormat.Png);
            AtomicFile.Write(path, s => s.Write(png));
            written.Add(path);
        }
        return written;
    }
}
