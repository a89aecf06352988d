namespace SelfAlign.Evaluation;

/// <summary>Counts of (true label, predicted label) over a fixed label set.</summary>
/// <param name="Labels">Row and column labels.</param>
/// <param name="Counts">Counts[true][predicted].</param>
public sealed record ConfusionMatrix(IReadOnlyList<string> Labels, int[][] Counts)
{
    /// <summary>Tallies <paramref name="pairs"/> of (true, predicted); labels outside <paramref name="labels"/> are added at the end.</summary>
    public static ConfusionMatrix Of(IEnumerable<(string Truth, string Predicted)> pairs, IEnumerable<string> labels)
    {
        var all = pairs.ToArray();
        var names = labels.Concat(all.SelectMany(p => new[] { p.Truth, p.Predicted })).Distinct().ToArray();
        var counts = names.Select(_ => new int[names.Length]).ToArray();
        foreach (var (t, p) in all) counts[Array.IndexOf(names, t)][Array.IndexOf(names, p)]++;
        return new ConfusionMatrix(names, counts);
    }

    /// <summary>Items counted.</summary>
    public int Total => Counts.Sum(r => r.Sum());
    /// <summary>Share of items on the diagonal.</summary>
    public double Accuracy => Total == 0 ? 0 : (double)Labels.Select((_, i) => Counts[i][i]).Sum() / Total;

    /// <summary>A markdown table: rows are the true labels, columns the predicted ones.</summary>
    public string ToMarkdown()
    {
        var lines = new List<string>
        {
            "| data \\ model | " + string.Join(" | ", Labels) + " | total |",
            "|---|" + string.Concat(Labels.Select(_ => "---:|")) + "---:|",
        };
        for (int i = 0; i < Labels.Count; i++)
            lines.Add($"| {Labels[i]} | " + string.Join(" | ", Counts[i]) + $" | {Counts[i].Sum()} |");
        return string.Join("\n", lines);
    }
}
