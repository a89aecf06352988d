using System.CommandLine;
using System.Text.Json.Nodes;
using SelfAlign.Evaluation;
using SelfAlign.IO;
using SelfAlign.Judging;
using SelfAlign.Modeling.Lora;
using SelfAlign.Text;
using Spectre.Console;

namespace SelfAlign.Cli.Commands;

/// <summary>
/// <c>selfalign bench</c>: a judge's accuracy on a preference benchmark, per subset, section and
/// overall (and RM-Bench's style levels), with a resumable per-record output and a report.
/// </summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var o = new JudgeOptions();
        var judge = new Option<string>("--judge") { Description = "yesno (IPO), additive (Self-Rewarding 5-point) or pairwise (PSO A/B).", DefaultValueFactory = _ => "yesno" };
        var output = new Option<DirectoryInfo>("--out") { Description = "Run folder: items.jsonl, results.json, report.md, accuracy.png.", Required = true };
        var prompts = new Option<string>("--prompts") { Description = "Yes/no prompt set: ipo-eval, ipo-dpo or a JSON file (e.g. from select-prompts).", DefaultValueFactory = _ => "ipo-eval" };
        var ties = new Option<string>("--ties") { Description = "A tie counts as half (RewardBench) or wrong (the IPO authors' code).", DefaultValueFactory = _ => "half" };
        var categories = new Option<string>("--categories") { Description = "data: the records' category field (the model fills in missing ones); model: the model categorizes every record.", DefaultValueFactory = _ => "data" };
        var samples = new Option<int>("--samples") { Description = "Additive judge: judgments per response.", DefaultValueFactory = _ => 3 };
        var temperature = new Option<double>("--temperature") { Description = "Additive judge: sampling temperature.", DefaultValueFactory = _ => 0.7 };
        var topP = new Option<double>("--top-p") { Description = "Additive judge: nucleus mass.", DefaultValueFactory = _ => 0.9 };
        var maxNew = new Option<int>("--max-new-tokens") { Description = "Additive judge: most tokens per judgment.", DefaultValueFactory = _ => 256 };
        var eta = new Option<double>("--eta") { Description = "Pairwise judge: calibration of the reported strength, in [0.5, 1] (0.5: none).", DefaultValueFactory = _ => 0.5 };
        var plainPath = new Option<bool>("--plain-path") { Description = "Score one input at a time through full forward passes (the reference for the fast path)." };
        var preset = new Option<string?>("--preset")
        {
            Description = "ipo-authors: the IPO authors' exact RewardBench setting (yes/no judge, their prompt per subset, plain layout, " +
                "' Yes' / ' No' as the tokenizer encodes them, inputs cut after 1,024 tokens, ties wrong). Not combined with --judge, --prompts, --format, --labels or --ties.",
        };
        var overwrite = CliOptions.Overwrite();
        var command = new Command("bench", "Measure a judge's accuracy on preference pairs (RewardBench / RM-Bench format), per subset, section and " +
            "category. Resumable: run the same command again and only the records not yet judged are judged; changed options are refused.");
        foreach (var option in (Option[])[o.Model, o.Adapter, o.Data, output, judge, prompts, o.Format, o.Labels, categories, ties, preset, o.Limit, o.Seed,
                     samples, temperature, topP, maxNew, eta, o.SkipInvalid, plainPath, o.BatchTokens, o.DType, o.TemplateArgs, .. o.Engine.All, overwrite])
            command.Options.Add(option);
        command.SetAction(parse =>
        {
            CliOptions.Apply(parse);
            var tieRule = parse.GetValue(ties) switch
            {
                "half" => TieRule.Half,
                "wrong" => TieRule.Wrong,
                var t => throw new UsageException($"--ties '{t}': use half or wrong"),
            };
            bool categorizeAll = parse.GetValue(categories) switch
            {
                "data" => false,
                "model" => true,
                var c => throw new UsageException($"--categories '{c}': use data or model"),
            };
            string judgeName = parse.GetValue(judge) is "yesno" or "additive" or "pairwise" ? parse.GetValue(judge)!
                : throw new UsageException($"--judge '{parse.GetValue(judge)}': use yesno, additive or pairwise");
            CliOptions.AtLeast(parse, samples, 1);
            if (parse.GetValue(eta) is < 0.5 or > 1) throw new UsageException($"--eta must be in [0.5, 1], got {parse.GetValue(eta)}");
            var sampling = new SamplingOptions { Temperature = parse.GetValue(temperature), TopP = parse.GetValue(topP), MaxNewTokens = parse.GetValue(maxNew) };
            sampling.Validate();
            var format = o.ParseFormat(parse);
            var yesNo = new YesNoOptions(JudgePromptSet.Get(parse.GetValue(prompts)!), format, o.ParseLabels(parse));
            if (parse.GetValue(preset) is string name)
            {
                if (name != "ipo-authors") throw new UsageException($"--preset '{name}': the one preset is ipo-authors");
                var given = new Option[] { judge, prompts, o.Format, o.Labels, ties }.Where(opt => parse.GetResult(opt) is { Implicit: false }).ToArray();
                if (given.Length > 0) throw new UsageException($"--preset ipo-authors fixes {string.Join(", ", given.Select(g => g.Name))}: leave them out");
                (yesNo, format, tieRule) = (YesNoOptions.IpoAuthors, YesNoOptions.IpoAuthors.Format, TieRule.Wrong);
            }
            var (items, skipped) = o.LoadData(parse);
            var data = parse.GetRequiredValue(o.Data);
            string outDir = parse.GetRequiredValue(output).FullName;
            o.CheckModel(parse);
            OutputGuard.ClaimFolder(outDir, "bench", [.. o.Inputs(parse), new("prompt set", File.Exists(parse.GetValue(prompts)) ? parse.GetValue(prompts) : null)],
                parse.GetValue(overwrite));

            using var opened = o.LoadEngine(parse, !parse.GetValue(plainPath));
            var engine = opened.Engine;
            IBenchJudge benchJudge = judgeName switch
            {
                "yesno" => new YesNoBenchJudge(new YesNoJudge(engine, yesNo)),
                "additive" => new AdditiveBenchJudge(new AdditiveJudge(engine, new AdditiveOptions(parse.GetValue(samples), sampling, parse.GetValue(o.Seed)))),
                _ => new PairwiseBenchJudge(new PairwiseJudge(engine, format), parse.GetValue(eta)),
            };
            Directory.CreateDirectory(outDir);
            RunManifest.WriteOrCheck(Path.Combine(outDir, OutputGuard.FolderManifest), "bench", new JsonObject
            {
                ["model"] = parse.GetRequiredValue(o.Model).FullName,
                ["adapter"] = PeftAdapter.ManifestRecord(parse.GetValue(o.Adapter)?.FullName),
                ["data"] = new JsonArray([.. data.Select(d => (JsonNode?)Path.GetFullPath(d))]),
                ["data_sha256"] = DataHash(data),
                ["judge"] = benchJudge.Name,
                ["settings"] = benchJudge.Settings,
                ["limit_per_subset"] = parse.GetValue(o.Limit),
                ["seed"] = parse.GetValue(o.Seed),
                ["categories"] = parse.GetValue(categories),
                ["dtype"] = o.DTypeName(parse),
            }.WithTemplateArgs(o.ParseTemplateArgs(parse)).WithEngine(o.EngineRecord(parse, opened)));

            var console = CliConsole.Out();
            if (skipped.Count > 0) console.MarkupLine($"[yellow]skipped {skipped.Count} malformed records[/] (first: {Markup.Escape($"{skipped[0].File}:{skipped[0].Line}: {skipped[0].Reason}")})");
            var categorizer = categorizeAll || items.Any(i => i.Category is null) ? new Categorizer(engine, format) : null;
            var run = CliProgress.Run(progress =>
            {
                var task = progress.Begin($"{benchJudge.Name} judge", items.Count);
                var clock = System.Diagnostics.Stopwatch.StartNew();
                int already = -1, finished = 0;
                return PreferenceBench.Run(items, benchJudge, categorizer, categorizeAll, outDir, n =>
                {
                    if (already < 0) already = n;
                    else finished += n;
                    task.Increment(n);
                    task.Describe($"{benchJudge.Name} judge {finished / Math.Max(1e-9, clock.Elapsed.TotalSeconds):F2} records/s");
                });
            });
            var accuracy = BenchMetrics.Compute(run.Records, tieRule);
            BenchReport.Write(outDir, accuracy, new BenchReport.Context(benchJudge.Name, benchJudge.Settings,
                parse.GetRequiredValue(o.Model).FullName, data, skipped, run));
            Print(console, accuracy, run, outDir);
            if (engine is Inference.Remote.RemoteLanguageModel { ApproximatedLabels: > 0 and var approximated })
                console.MarkupLine($"[yellow]warning:[/] {approximated} label log-probabilities were outside the servers' top {Inference.Remote.ServerDialect.TopN} " +
                    "and bounded by the last listed; the scores are ordered, not calibrated (docs/scale-out.md)");
            return 0;
        });
        return command;
    }

    static JsonObject DataHash(IEnumerable<string> paths)
    {
        var hashes = new JsonObject();
        foreach (var file in paths.SelectMany(BenchData.Files))
            hashes[Path.GetFullPath(file)] = RunManifest.FileSha256(file);
        return hashes;
    }

    static void Print(IAnsiConsole console, BenchAccuracy accuracy, BenchRun run, string outDir)
    {
        var table = new Table().Border(TableBorder.Rounded).AddColumn("subset").AddColumn("section").AddColumn("records")
            .AddColumn("accuracy % [[95% CI]]").AddColumn("ties").AddColumn("format failures");
        foreach (var s in accuracy.Subsets)
            table.AddRow(Markup.Escape(s.Subset), Markup.Escape(s.Section), s.Records.ToString(), Markup.Escape(BenchReport.WithInterval(s.Accuracy, s.Interval)),
                s.Ties.ToString(), s.FormatFailures.ToString());
        foreach (var s in accuracy.Sections)
            table.AddRow($"[bold]{Markup.Escape(s.Section)}[/]", "section", s.Records.ToString(), $"[bold]{Markup.Escape(BenchReport.WithInterval(s.Accuracy, s.Interval))}[/]", "", "");
        table.AddRow("[bold]overall[/]", "mean of sections", accuracy.Records.ToString(), $"[bold]{Markup.Escape(BenchReport.WithInterval(accuracy.Overall, accuracy.OverallInterval))}[/]",
            accuracy.TieCount.ToString(), accuracy.FormatFailures.ToString());
        console.Write(table);
        if (accuracy.Levels is { } l) console.MarkupLine($"RM-Bench levels: easy {100 * l.Easy:F2}%, normal {100 * l.Normal:F2}%, hard {100 * l.Hard:F2}%");
        foreach (string line in BenchReport.SummaryLines(accuracy)) console.MarkupLine(Markup.Escape(line));
        if (run.NewRecords > 0)
            console.MarkupLine($"judged {run.NewRecords} records ({run.NewComparisons} comparisons) in {run.Seconds:F1} s: {run.NewComparisons / Math.Max(1e-9, run.Seconds):F2} comparisons/s");
        console.MarkupLine($"wrote [bold]{Markup.Escape(Path.Combine(outDir, "report.md"))}[/]");
    }
}
