using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using SelfAlign.Data;
using SelfAlign.Evaluation;
using SelfAlign.IO;
using SelfAlign.Judging;
using Spectre.Console;

namespace SelfAlign.Cli.Commands;

/// <summary>
/// <c>selfalign categorize</c>: the model assigns chat, code, math or safety to every benchmark
/// prompt; where the data has a category too, a confusion matrix compares them. Resumable.
/// </summary>
internal static class CategorizeCommand
{
    public static Command Create()
    {
        var o = new JudgeOptions();
        var output = new Option<DirectoryInfo>("--out") { Description = "Folder: categories.jsonl, confusion.json, report.md.", Required = true };
        var command = new Command("categorize", "Let the model categorize benchmark prompts; compare with the data's categories.") { output };
        foreach (var option in o.All.Where(x => x != o.Labels)) command.Options.Add(option);
        command.SetAction(parse =>
        {
            CliOptions.Apply(parse);
            var (items, _) = o.LoadData(parse);
            string outDir = parse.GetRequiredValue(output).FullName;
            Directory.CreateDirectory(outDir);
            RunManifest.WriteOrCheck(Path.Combine(outDir, "manifest.json"), "categorize", new JsonObject
            {
                ["model"] = parse.GetRequiredValue(o.Model).FullName,
                ["data"] = new JsonArray([.. parse.GetRequiredValue(o.Data).Select(d => (JsonNode?)Path.GetFullPath(d))]),
                ["limit_per_subset"] = parse.GetValue(o.Limit),
                ["seed"] = parse.GetValue(o.Seed),
                ["format"] = parse.GetValue(o.Format),
                ["dtype"] = parse.GetValue(o.DType),
            });
            using var rows = JsonlAppender.Open(Path.Combine(outDir, "categories.jsonl"));
            var done = rows.Existing.Select(r => r.GetProperty("id").GetString()!).ToHashSet();
            var pending = items.Where(i => !done.Contains(i.Id)).ToArray();
            var console = CliConsole.Out();
            if (pending.Length > 0)
            {
                var engine = o.LoadEngine(parse);
                using var model = engine.Model;
                var categorizer = new Categorizer(engine, o.ParseFormat(parse));
                console.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
                    .Start(ctx =>
                    {
                        var task = ctx.AddTask("categorizing", maxValue: items.Count);
                        task.Increment(items.Count - pending.Length);
                        foreach (var chunk in pending.Chunk(64))
                        {
                            var guesses = categorizer.Categorize(chunk.Select(i => i.Prompt).ToArray());
                            for (int k = 0; k < chunk.Length; k++)
                                rows.Append(new Dictionary<string, object?>
                                {
                                    ["id"] = chunk[k].Id, ["subset"] = chunk[k].Subset, ["data_category"] = chunk[k].Category,
                                    ["category"] = guesses[k].Category, ["probabilities"] = guesses[k].Probabilities, ["mass"] = guesses[k].Mass,
                                });
                            task.Increment(chunk.Length);
                        }
                    });
            }
            var wanted = items.Select(i => i.Id).ToHashSet();
            var all = Jsonl.Read(Path.Combine(outDir, "categories.jsonl")).Select(r => r.Row)
                .Where(r => wanted.Contains(r.GetProperty("id").GetString()!) && r.GetProperty("data_category").ValueKind == JsonValueKind.String)
                .Select(r => (r.GetProperty("data_category").GetString()!, r.GetProperty("category").GetString()!)).ToArray();
            var matrix = ConfusionMatrix.Of(all, Categories.All);
            AtomicFile.WriteAllText(Path.Combine(outDir, "confusion.json"), new JsonObject
            {
                ["labels"] = new JsonArray([.. matrix.Labels.Select(l => (JsonNode?)l)]),
                ["counts"] = new JsonArray([.. matrix.Counts.Select(r => (JsonNode?)new JsonArray([.. r.Select(x => (JsonNode?)x)]))]),
                ["records"] = matrix.Total,
                ["accuracy"] = matrix.Accuracy,
            }.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
            AtomicFile.WriteAllText(Path.Combine(outDir, "report.md"),
                $"# Categorizer vs the data's categories\n\n{matrix.Total} records; the model agrees on {100 * matrix.Accuracy:F2}%.\n" +
                "Rows: the data's category; columns: the model's.\n\n" + matrix.ToMarkdown() + "\n");

            var table = new Table().Border(TableBorder.Rounded).AddColumn("data \\ model");
            foreach (var l in matrix.Labels) table.AddColumn(l);
            for (int i = 0; i < matrix.Labels.Count; i++) table.AddRow([matrix.Labels[i], .. matrix.Counts[i].Select(c => c.ToString())]);
            console.Write(table);
            console.MarkupLine($"agreement {100 * matrix.Accuracy:F2}% over {matrix.Total} records; wrote [bold]{Markup.Escape(Path.Combine(outDir, "report.md"))}[/]");
            return 0;
        });
        return command;
    }
}
