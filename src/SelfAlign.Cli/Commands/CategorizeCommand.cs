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
        var overwrite = CliOptions.Overwrite();
        var command = new Command("categorize", "Let the model categorize benchmark prompts (chat, code, math, safety) and compare with the data's categories. " +
            "Resumable: run the same command again and only the prompts not yet categorized are done; changed options are refused.");
        foreach (var option in new Option[] { o.Model, o.Adapter, o.Data, output, o.Format, o.Limit, o.Seed, o.SkipInvalid, o.BatchTokens, o.DType, o.TemplateArgs, overwrite })
            command.Options.Add(option);
        command.SetAction(parse =>
        {
            CliOptions.Apply(parse);
            var format = o.ParseFormat(parse);
            var (items, _) = o.LoadData(parse);
            string outDir = parse.GetRequiredValue(output).FullName;
            o.CheckModel(parse);
            OutputGuard.ClaimFolder(outDir, "categorize", o.Inputs(parse), parse.GetValue(overwrite));
            Directory.CreateDirectory(outDir);
            RunManifest.WriteOrCheck(Path.Combine(outDir, OutputGuard.FolderManifest), "categorize", new JsonObject
            {
                ["model"] = parse.GetRequiredValue(o.Model).FullName,
                ["adapter"] = Modeling.Lora.PeftAdapter.ManifestRecord(parse.GetValue(o.Adapter)?.FullName),
                ["data"] = new JsonArray([.. parse.GetRequiredValue(o.Data).Select(d => (JsonNode?)Path.GetFullPath(d))]),
                ["limit_per_subset"] = parse.GetValue(o.Limit),
                ["seed"] = parse.GetValue(o.Seed),
                ["format"] = parse.GetValue(o.Format),
                ["dtype"] = o.DTypeName(parse),
            }.WithTemplateArgs(o.ParseTemplateArgs(parse)));
            string file = Path.Combine(outDir, "categories.jsonl");
            var done = new HashSet<string>();
            var console = CliConsole.Out();
            using (var rows = JsonlAppender.Open(file))
            {
                done.UnionWith(rows.Existing.Select(r => r.String("id")));
                var pending = items.Where(i => !done.Contains(i.Id)).ToArray();
                if (pending.Length > 0)
                {
                    using var opened = o.LoadEngine(parse);
                    var engine = opened.Engine;
                    var categorizer = new Categorizer(engine, format);
                    CliProgress.Run(progress =>
                    {
                        var task = progress.Begin("categorizing", items.Count);
                        task.Increment(items.Count - pending.Length);
                        foreach (var chunk in pending.Chunk(Math.Clamp(pending.Length / 20, 1, 64)))
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
                        return 0;
                    });
                }
            }
            var wanted = items.Select(i => i.Id).ToHashSet();
            var all = Jsonl.Read(file).Where(r => wanted.Contains(r.String("id")) && r.Has("data_category"))
                .Select(r => (r.String("data_category"), r.String("category"))).ToArray();
            var matrix = ConfusionMatrix.Of(all, Categories.All);
            AtomicFile.WriteAllText(Path.Combine(outDir, "confusion.json"), new JsonObject
            {
                ["labels"] = new JsonArray([.. matrix.Labels.Select(l => (JsonNode?)l)]),
                ["counts"] = new JsonArray([.. matrix.Counts.Select(r => (JsonNode?)new JsonArray([.. r.Select(x => (JsonNode?)x)]))]),
                ["records"] = matrix.Total,
                ["accuracy"] = matrix.Accuracy,
            }.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
            AtomicFile.WriteAllText(Path.Combine(outDir, "report.md"),
                $"# Categorizer vs the data's categories\n\n{matrix.Total} records; the model agrees on " +
                $"{BenchReport.WithInterval(matrix.Accuracy, Proportion.Wilson(matrix.Accuracy, matrix.Total))}% of them (95% interval in brackets).\n" +
                "Rows: the data's category; columns: the model's.\n\n" + matrix.ToMarkdown() + "\n");

            var table = new Table().Border(TableBorder.Rounded).AddColumn("data \\ model");
            foreach (var l in matrix.Labels) table.AddColumn(l);
            for (int i = 0; i < matrix.Labels.Count; i++) table.AddRow([matrix.Labels[i], .. matrix.Counts[i].Select(c => c.ToString())]);
            console.Write(table);
            console.MarkupLine($"agreement {Markup.Escape(BenchReport.WithInterval(matrix.Accuracy, Proportion.Wilson(matrix.Accuracy, matrix.Total)))}% over {matrix.Total} records; wrote [bold]{Markup.Escape(Path.Combine(outDir, "report.md"))}[/]");
            return 0;
        });
        return command;
    }
}
