namespace SelfAlign.Pipeline;

/// <summary>A measured rate with its 95% interval, as the charts draw it (fractions, drawn as percentages).</summary>
public readonly record struct RatePoint(double Rate, double Low, double High);

/// <summary>
/// PNG charts of rates with their 95% intervals: lines across steps (iterations) with one line
/// per method, and grouped bars (one group per category, one bar per method). Whiskers are the
/// intervals, so a reader sees at a glance which differences the sample supports.
/// </summary>
public static class RateCharts
{
    /// <summary>One line per series over the x labels (a missing point is null).</summary>
    public static byte[] Lines(string title, string yLabel, IReadOnlyList<string> xLabels, IReadOnlyList<(string Name, RatePoint?[] Points)> series)
    {
        var plot = new ScottPlot.Plot();
        var palette = new ScottPlot.Palettes.Category10();
        for (int s = 0; s < series.Count; s++)
        {
            var (name, points) = series[s];
            var color = palette.GetColor(s);
            // Series are nudged apart so their whiskers do not hide one another.
            double offset = (s - (series.Count - 1) / 2.0) * 0.04;
            var present = Enumerable.Range(0, points.Length).Where(i => points[i] is not null).ToArray();
            var line = plot.Add.ScatterLine(present.Select(i => i + offset).ToArray(), present.Select(i => 100 * points[i]!.Value.Rate).ToArray());
            line.LegendText = name;
            line.Color = color;
            line.MarkerSize = 7;
            foreach (int i in present)
            {
                var whisker = plot.Add.Line(i + offset, 100 * points[i]!.Value.Low, i + offset, 100 * points[i]!.Value.High);
                whisker.Color = color;
                whisker.LineWidth = 2;
            }
        }
        return Finish(plot, xLabels, -0.3, title, yLabel);
    }

    /// <summary>Bars grouped by <paramref name="groups"/>, one bar per series in each group, with a dashed line at <paramref name="reference"/> percent.</summary>
    public static byte[] GroupedBars(string title, string yLabel, IReadOnlyList<string> groups, IReadOnlyList<(string Name, RatePoint?[] Values)> series, double? reference = null)
    {
        var plot = new ScottPlot.Plot();
        var palette = new ScottPlot.Palettes.Category10();
        double width = 0.8 / Math.Max(1, series.Count);
        for (int s = 0; s < series.Count; s++)
        {
            var color = palette.GetColor(s);
            var bars = new List<ScottPlot.Bar>();
            for (int g = 0; g < groups.Count; g++)
            {
                if (series[s].Values[g] is not RatePoint p) continue;
                double x = g - 0.4 + width * (s + 0.5);
                bars.Add(new ScottPlot.Bar { Position = x, Value = 100 * p.Rate, Size = width * 0.9, FillColor = color });
                var whisker = plot.Add.Line(x, 100 * p.Low, x, 100 * p.High);
                whisker.Color = ScottPlot.Colors.Black;
                whisker.LineWidth = 2;
            }
            var added = plot.Add.Bars(bars);
            added.LegendText = series[s].Name;
            added.Color = color;
        }
        if (reference is double r)
        {
            var chance = plot.Add.HorizontalLine(r);
            chance.LinePattern = ScottPlot.LinePattern.Dashed;
            chance.Color = ScottPlot.Colors.Gray;
        }
        return Finish(plot, groups, -0.6, title, yLabel);
    }

    /// <summary>Labels at 0, 1, ... with <paramref name="margin"/> beyond the first and last, 0-100% up the side, the legend beside the chart.</summary>
    static byte[] Finish(ScottPlot.Plot plot, IReadOnlyList<string> labels, double margin, string title, string yLabel)
    {
        plot.Axes.Bottom.SetTicks(Enumerable.Range(0, labels.Count).Select(i => (double)i).ToArray(), labels.ToArray());
        plot.Axes.SetLimits(margin, labels.Count - 1 - margin, 0, 100);
        plot.ShowLegend(ScottPlot.Edge.Right);
        plot.Title(title);
        plot.YLabel(yLabel);
        return plot.GetImageBytes(900, 460, ScottPlot.ImageFormat.Png);
    }
}
