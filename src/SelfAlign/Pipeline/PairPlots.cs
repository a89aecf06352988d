using SelfAlign.IO;

namespace SelfAlign.Pipeline;

/// <summary>The histogram of a judge's scores that goes beside the pairs.</summary>
public static class PairPlots
{
    /// <summary>Writes a histogram of the report's scores on their own range (nothing when there are none).</summary>
    public static void ScoreHistogram(PairReport report, string path)
    {
        if (report.Scores.Count == 0) return;
        double min = report.Scores.Min(), max = report.Scores.Max();
        // A single value still gets a readable bin around it.
        double pad = max > min ? 0 : Math.Max(1e-3, Math.Abs(min) * 0.05);
        (min, max) = (min - pad, max + pad);
        int bins = Math.Clamp(report.Scores.Count / 4, 5, 30);
        double width = (max - min) / bins;
        var counts = new double[bins];
        foreach (double s in report.Scores) counts[Math.Min(bins - 1, (int)((s - min) / width))]++;
        var plot = new ScottPlot.Plot();
        // Each bar spans its bin, with a small gap, so the axis reads as the scores' own range.
        var bars = plot.Add.Bars(counts.Select((c, i) => new ScottPlot.Bar { Position = min + (i + 0.5) * width, Value = c, Size = 0.9 * width }).ToArray());
        plot.Axes.SetLimitsX(min - 0.02 * (max - min), max + 0.02 * (max - min));
        plot.Axes.SetLimitsY(0, counts.Max() * 1.08);
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        bool pairwise = report.Judge == "pairwise";
        plot.Title($"{report.Judge} judge: {report.Scores.Count} {(pairwise ? "pair preferences" : "candidate scores")}, {report.Pairs} pairs kept");
        plot.XLabel(pairwise ? "p(first candidate better)" : report.Judge switch
        {
            "yesno" => "p(Yes) / (p(Yes) + p(No))",
            "additive" => "mean score (0-5)",
            _ => $"{report.Judge} score",
        });
        plot.YLabel(pairwise ? "candidate pairs" : "candidates");
        byte[] png = plot.GetImageBytes(720, 400, ScottPlot.ImageFormat.Png);
        AtomicFile.Write(path, s => s.Write(png));
    }
}
