using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using SelfAlign.Data;
using SelfAlign.Judging;

namespace SelfAlign.Evaluation;

/// <summary>Where a record's category came from, and the categorizer's view when it ran.</summary>
public sealed record CategoryChoice(string Category, string Source, string? DataCategory, CategoryGuess? Guess);

/// <summary>What a benchmark run did: the records now judged (old and new) and the speed of this run.</summary>
/// <param name="Records">Every judged record in the output, for the metrics.</param>
/// <param name="Categories">(data category, model category) of every record the categorizer saw that also had one in the data.</param>
/// <param name="NewRecords">Records judged by this run (the rest were already in the output).</param>
/// <param name="NewComparisons">Chosen-vs-rejected comparisons among them.</param>
/// <param name="Seconds">Wall time of this run's judging.</param>
public sealed record BenchRun(IReadOnlyList<JudgedRecord> Records, IReadOnlyList<(string Data, string Model)> Categories,
    int NewRecords, int NewComparisons, double Seconds);

/// <summary>
/// Runs a judge over benchmark records and appends one JSON line per record to
/// <c>items.jsonl</c>; records already there (from a run that was stopped) are not judged again.
/// </summary>
public static class PreferenceBench
{
    /// <summary>The per-record output file in a run folder.</summary>
    public const string ItemsFile = "items.jsonl";

    /// <summary>Judges the records of <paramref name="items"/> that <paramref name="outDir"/> lacks.</summary>
    /// <param name="items">The records to judge.</param>
    /// <param name="judge">The judge.</param>
    /// <param name="categorizer">The model's categorizer: used for records without a category, and for all when <paramref name="categorizeAll"/>.</param>
    /// <param name="categorizeAll">Take every category from the model, even where the data has one.</param>
    /// <param name="outDir">The run folder.</param>
    /// <param name="onProgress">Hears how many records finished.</param>
    public static BenchRun Run(IReadOnlyList<BenchItem> items, IBenchJudge judge, Categorizer? categorizer, bool categorizeAll,
        string outDir, Action<int>? onProgress = null)
    {
        Directory.CreateDirectory(outDir);
        using var output = JsonlAppender.Open(Path.Combine(outDir, ItemsFile));
        var wanted = items.Select(i => i.Id).ToHashSet();
        var done = output.Existing.Where(r => wanted.Contains(r.String("id"))).Select(Parsed).ToList();
        var doneIds = done.Select(r => r.Record.Id).ToHashSet();
        var pending = items.Where(i => !doneIds.Contains(i.Id)).ToArray();
        onProgress?.Invoke(items.Count - pending.Length);

        var watch = Stopwatch.StartNew();
        int comparisons = 0;
        // Small runs judge fewer records at a time so progress moves; large ones keep the judge's batches full.
        foreach (var chunk in pending.Chunk(Math.Clamp(pending.Length / 20, 1, judge.ChunkSize)))
        {
            var choices = Categorize(chunk, categorizer, categorizeAll);
            var verdicts = judge.Judge(chunk, choices.Select(c => c.Category).ToArray());
            for (int i = 0; i < chunk.Length; i++)
            {
                var row = Row(chunk[i], choices[i], verdicts[i]);
                output.Append(row);
                done.Add(Parsed(new JsonRow(ItemsFile, 0, JsonSerializer.SerializeToElement(row))));
                comparisons += chunk[i].Chosen.Count * chunk[i].Rejected.Count;
            }
            onProgress?.Invoke(chunk.Length);
        }
        double seconds = watch.Elapsed.TotalSeconds;
        var pairs = done.Where(r => r.DataCategory is not null && r.Source == "model").Select(r => (r.DataCategory!, r.Category)).ToArray();
        return new BenchRun(done.Select(r => r.Record).ToArray(), pairs, pending.Length, comparisons, seconds);
    }

    static CategoryChoice[] Categorize(BenchItem[] chunk, Categorizer? categorizer, bool all)
    {
        var needed = chunk.Select((item, i) => (item, i)).Where(x => all || x.item.Category is null).ToArray();
        if (needed.Length > 0 && categorizer is null)
            throw new ArgumentException($"{needed[0].item.Source}: the record has no category and no categorizer was given");
        var guesses = needed.Length == 0 ? [] : categorizer!.Categorize(needed.Select(x => x.item.Prompt).ToArray());
        var choices = chunk.Select(item => new CategoryChoice(item.Category!, "data", item.Category, null)).ToArray();
        for (int k = 0; k < needed.Length; k++)
            choices[needed[k].i] = new CategoryChoice(guesses[k].Category, "model", needed[k].item.Category, guesses[k]);
        return choices;
    }

    static JsonObject Row(BenchItem item, CategoryChoice category, BenchVerdict verdict)
    {
        static JsonArray Numbers(IEnumerable<double> xs) => new([.. xs.Select(x => double.IsNaN(x) ? null : (JsonNode?)x)]);
        var row = new JsonObject
        {
            ["id"] = item.Id,
            ["subset"] = item.Subset,
            ["section"] = item.Section,
            ["category"] = category.Category,
            ["category_source"] = category.Source,
            ["data_category"] = category.DataCategory,
            ["outcomes"] = new JsonArray([.. verdict.Outcomes.Select(o => (JsonNode?)Numbers(o))]),
            ["accuracy"] = BenchMetrics.Accuracy(verdict.Outcomes, TieRule.Half),
            ["chosen_scores"] = Numbers(verdict.ChosenScores),
            ["rejected_scores"] = Numbers(verdict.RejectedScores),
            ["format_failures"] = verdict.FormatFailures,
            ["chosen_chars"] = new JsonArray([.. item.Chosen.Select(c => (JsonNode?)c.Length)]),
            ["rejected_chars"] = new JsonArray([.. item.Rejected.Select(c => (JsonNode?)c.Length)]),
            ["judge"] = verdict.Details,
            ["source"] = item.Source,
        };
        if (category.Guess is { } g)
            row["category_probs"] = new JsonObject(g.Probabilities.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value)));
        return row;
    }

    /// <summary>A list of character counts, or null in a row written before they were recorded.</summary>
    static int[]? Lengths(JsonRow row, string field) => row.Has(field) ? [.. row.Numbers(field).Select(x => (int)x)] : null;

    /// <summary>A row of items.jsonl read back: the judged record and where its category came from.</summary>
    sealed record ItemRow(JudgedRecord Record, string Category, string Source, string? DataCategory);

    static ItemRow Parsed(JsonRow row)
    {
        if (row.Field("outcomes") is not { ValueKind: JsonValueKind.Array } outcomes) throw row.Error("'outcomes' must be a list of lists of numbers");
        var perChosen = outcomes.EnumerateArray().Select((o, i) => row.Numbers(o, $"outcomes[{i}]")).ToArray();
        var record = new JudgedRecord(row.String("id"), row.String("subset"), row.String("section"), perChosen,
            row.Numbers("chosen_scores"), row.Numbers("rejected_scores"), row.Int("format_failures"), Lengths(row, "chosen_chars"), Lengths(row, "rejected_chars"));
        return new ItemRow(record, row.String("category"), row.String("category_source"), row.OptionalString("data_category"));
    }
}
