using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SelfAlign.Evaluation;
using SelfAlign.IO;
using SelfAlign.Judging;
using Spectre.Console;

namespace SelfAlign.Cli.Commands;

/// <summary>
/// <c>selfalign select-prompts</c>: IPO's prompt selection. Every candidate yes/no instruction of a
/// category judges the same labeled sample of that category; the best per category is saved as a
/// prompt set that <c>bench --prompts</c> and the judges load.
/// </summary>
internal static class SelectPromptsCommand
{
    public static Command Create()
    {
        var o = new JudgeOptions();
        var candidates = new Option<FileInfo>("--candidates") { Description = "JSON candidate pool: keys are categories, RewardBench subsets or 'default'; values strings or lists.", Required = true };
        var perCategory = new Option<int>("--per-category") { Description = "Labeled pairs per category, drawn by --seed (IPO used 50).", DefaultValueFactory = _ => 50 };
        var output = new Option<DirectoryInfo>("--out") { Description = "Folder: prompts.json (the chosen set), candidates.json, report.md.", Required = true };
        var overwrite = CliOptions.Overwrite();
        var command = new Command("select-prompts", "IPO's prompt selection: every candidate yes/no instruction judges the same labeled pairs of its category, " +
            "and the most accurate per category is saved as a prompt set. A rerun replaces its own output.");
        foreach (var option in new Option[] { o.Model, o.Adapter, candidates, o.Data, output, perCategory, o.Format, o.Labels, o.Seed, o.SkipInvalid,
                     o.BatchTokens, o.DType, o.TemplateArgs, overwrite })
            command.Options.Add(option);
        command.SetAction(parse =>
        {
            CliOptions.Apply(parse);
            int n = CliOptions.AtLeast(parse, perCategory, 1);
            var format = o.ParseFormat(parse);
            var labels = o.ParseLabels(parse);
            string poolFile = parse.GetRequiredValue(candidates).FullName;
            var pool = CandidatePool.Load(poolFile);
            var (items, _) = o.LoadData(parse);
            var sample = BenchData.Sample([.. items.Where(i => i.Category is not null)], n, parse.GetValue(o.Seed), i => i.Category!)
                .Select(i => new LabeledPair(i.Prompt, i.Chosen[0], i.Rejected[0], i.Category!, i.Subset))
                .ToArray();
            string outDir = parse.GetRequiredValue(output).FullName;
            o.CheckModel(parse);
            OutputGuard.ClaimFolder(outDir, "select-prompts", [.. o.Inputs(parse), new("candidate pool", poolFile)], parse.GetValue(overwrite));
            using var opened = o.LoadEngine(parse);
            var engine = opened.Engine;
            int inputs = pool.Sum(kv => kv.Value.Count * 2 * sample.Count(p => p.Category == kv.Key));
            var console = CliConsole.Out();
            var (results, chosen) = CliProgress.Run(progress =>
            {
                var task = progress.Begin("trying candidates", Math.Max(1, inputs));
                return PromptSelection.Run(engine, pool, sample, format, labels, k => task.Increment(k));
            });
            Directory.CreateDirectory(outDir);
            RunManifest.Write(Path.Combine(outDir, OutputGuard.FolderManifest), "select-prompts", new JsonObject
            {
                ["model"] = parse.GetRequiredValue(o.Model).FullName,
                ["adapter"] = Modeling.Lora.PeftAdapter.ManifestRecord(parse.GetValue(o.Adapter)?.FullName),
                ["candidates"] = poolFile,
                ["candidates_sha256"] = RunManifest.FileSha256(poolFile),
                ["data"] = new JsonArray([.. parse.GetRequiredValue(o.Data).Select(d => (JsonNode?)Path.GetFullPath(d))]),
                ["per_category"] = n,
                ["seed"] = parse.GetValue(o.Seed),
                ["format"] = parse.GetValue(o.Format),
                ["labels"] = parse.GetValue(o.Labels),
                ["dtype"] = o.DTypeName(parse),
            }.WithTemplateArgs(o.ParseTemplateArgs(parse)));
            chosen.Save(Path.Combine(outDir, "prompts.json"));
            var json = new JsonArray([.. results.Select(r => (JsonNode?)new JsonObject
            {
                ["category"] = r.Category, ["prompt"] = r.Prompt, ["correct"] = r.Correct, ["pairs"] = r.Pairs, ["accuracy"] = r.Accuracy,
                ["chosen"] = chosen.ByCategory.GetValueOrDefault(r.Category) == r.Prompt,
            })]);
            AtomicFile.WriteAllText(Path.Combine(outDir, "candidates.json"), json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
            AtomicFile.WriteAllText(Path.Combine(outDir, "report.md"), Report(results, chosen));

            var table = new Table().Border(TableBorder.Rounded).AddColumn("category").AddColumn("pairs").AddColumn("accuracy % [[95% CI]]").AddColumn("candidate");
            foreach (var r in results)
            {
                bool best = chosen.ByCategory.GetValueOrDefault(r.Category) == r.Prompt;
                string text = Markup.Escape(r.Prompt.Length > 90 ? r.Prompt[..87] + "..." : r.Prompt);
                table.AddRow(r.Category, r.Pairs.ToString(), Markup.Escape(BenchReport.WithInterval(r.Accuracy, Proportion.Wilson(r.Accuracy, r.Pairs))), best ? $"[bold green]{text}[/]" : text);
            }
            console.Write(table);
            console.MarkupLine($"wrote [bold]{Markup.Escape(Path.Combine(outDir, "prompts.json"))}[/]");
            return 0;
        });
        return command;
    }

    static string Report(IReadOnlyList<CandidateResult> results, JudgePromptSet chosen)
    {
        var md = new StringBuilder("# Prompt selection\n\nEach candidate judged the same labeled pairs of its category; the best (bold) is kept.\n\n");
        md.AppendLine("Accuracies are percentages with their 95% interval (Wilson, over the pairs) in brackets; chance is 50%.\n");
        md.AppendLine("| category | pairs | accuracy % [95% CI] | candidate |\n|---|---:|---:|---|");
        foreach (var r in results)
        {
            string text = r.Prompt.Replace("|", "\\|").Replace("\n", " ");
            bool best = chosen.ByCategory.GetValueOrDefault(r.Category) == r.Prompt;
            md.AppendLine($"| {r.Category} | {r.Pairs} | {BenchReport.WithInterval(r.Accuracy, Proportion.Wilson(r.Accuracy, r.Pairs))} | {(best ? $"**{text}**" : text)} |");
        }
        return md.ToString();
    }
}
