using System.CommandLine;
using SelfAlign.IO;
using SelfAlign.Pipeline;
using Spectre.Console;

namespace SelfAlign.Cli.Commands;

/// <summary><c>selfalign pair</c>: judged candidates -> TRL preference pairs, with a report of prompts that gave none.</summary>
internal static class PairCommand
{
    public static Command Create()
    {
        var candidates = new Option<FileInfo>("--candidates") { Description = "Candidates JSONL.", Required = true };
        var judgments = new Option<FileInfo>("--judgments") { Description = "Judgments JSONL from 'selfalign judge'.", Required = true };
        var output = new Option<FileInfo>("--out") { Description = "Pairs JSONL (TRL conversational format); a .report.json goes beside it.", Required = true };
        var margin = new Option<double>("--min-margin") { Description = "Drop pairs whose score gap (pairwise: strength - 0.5) is below this.", DefaultValueFactory = _ => 0.0 };
        var eta = new Option<double>("--eta") { Description = "PSO strength calibration η in [0.5, 1] (0.5: none).", DefaultValueFactory = _ => 0.5 };
        var command = new Command("pair", "Build preference pairs from judged candidates.") { candidates, judgments, output, margin, eta };
        command.SetAction(parse =>
        {
            CliOptions.Apply(parse);
            var rule = new PairRule(parse.GetValue(margin), parse.GetValue(eta));
            try
            {
                rule.Validate();
            }
            catch (ArgumentException e)
            {
                throw new UsageException(e.Message);
            }
            string outFile = parse.GetRequiredValue(output).FullName;
            var report = PairStage.Run(parse.GetRequiredValue(candidates).FullName, parse.GetRequiredValue(judgments).FullName, outFile, rule);
            var json = PairStage.ToJson(report);
            AtomicFile.WriteAllText(Path.ChangeExtension(outFile, ".report.json"), json.ToJsonString(new() { WriteIndented = true }) + "\n");
            var table = new Table().Border(TableBorder.Rounded).AddColumn("prompts").AddColumn("pairs").AddColumn("no pair").AddColumn("judge").AddColumn("format failures");
            table.AddRow(report.Prompts.ToString(), report.Pairs.ToString(),
                Markup.Escape(report.NoPair.Count == 0 ? "none" : string.Join(", ", report.NoPair.Select(kv => $"{kv.Value} {kv.Key}"))),
                report.Judge, report.FormatFailures.ToString());
            var console = CliConsole.Out();
            console.Write(table);
            console.MarkupLine($"wrote [bold]{Markup.Escape(outFile)}[/]");
            return 0;
        });
        return command;
    }
}
