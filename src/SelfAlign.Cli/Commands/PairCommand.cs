using System.CommandLine;
using SelfAlign.Pipeline;
using Spectre.Console;

namespace SelfAlign.Cli.Commands;

/// <summary><c>selfalign pair</c>: judged candidates -> TRL preference pairs, with a report of prompts that gave none.</summary>
internal static class PairCommand
{
    public static Command Create()
    {
        var candidates = new Option<FileInfo>("--candidates") { Description = "Candidates JSONL from 'selfalign generate'.", Required = true };
        var judgments = new Option<FileInfo>("--judgments") { Description = "Judgments JSONL from 'selfalign judge' on those candidates.", Required = true };
        var output = new Option<FileInfo>("--out")
        {
            Description = "Pairs JSONL (TRL conversational format); <name>.report.json and <name>.scores.png go beside it.",
            Required = true,
        };
        var margin = new Option<double>("--min-margin") { Description = "Drop pairs whose score gap (pairwise: strength - 0.5) is below this.", DefaultValueFactory = _ => 0.0 };
        var minChosen = new Option<double?>("--min-chosen-score") { Description = "Pointwise judges: keep a pair only when the chosen scored at least this (yes/no: 0.5 means the judge said Yes)." };
        var maxRejected = new Option<double?>("--max-rejected-score") { Description = "Pointwise judges: keep a pair only when the rejected scored at most this (yes/no: 0.5 means the judge said No)." };
        var minChosenQuantile = new Option<double?>("--min-chosen-quantile")
        {
            Description = "Pointwise judges: keep a pair only when the chosen scored at least this quantile of all candidate scores (0.8: the top fifth).",
        };
        var maxRejectedQuantile = new Option<double?>("--max-rejected-quantile")
        {
            Description = "Pointwise judges: keep a pair only when the rejected scored at most this quantile of all candidate scores (0.2: the bottom fifth).",
        };
        var eta = new Option<double>("--eta") { Description = "PSO strength calibration η in [0.5, 1] (0.5: none).", DefaultValueFactory = _ => 0.5 };
        var lengthControl = new Option<double?>("--length-control")
        {
            Description = "Pointwise judges: Meta-Rewarding's length control ρ in [0, 0.5): the shortest candidate within ρ of the score range below the best " +
                "is chosen, the longest within ρ above the worst rejected.",
        };
        var scoreStrength = new Option<bool>("--score-strength")
        {
            Description = "Pointwise judges: give each pair PSO's strength 0.5 + 0.5 (chosen - rejected) / range (additive: 5), calibrated by --eta (the ScorePSO baseline).",
        };
        var overwrite = CliOptions.Overwrite();
        var command = new Command("pair", "Turn judged candidates into preference pairs: best against worst per prompt (pointwise judges) " +
            "or the strongest preference (pairwise). Fast and exact, so a rerun rewrites its own output.")
        {
            candidates, judgments, output, margin, minChosen, maxRejected, minChosenQuantile, maxRejectedQuantile, eta, lengthControl, scoreStrength, overwrite,
        };
        command.SetAction(parse =>
        {
            CliOptions.Apply(parse);
            string outFile = parse.GetRequiredValue(output).FullName;
            var report = PairStage.Run(parse.GetRequiredValue(candidates).FullName, parse.GetRequiredValue(judgments).FullName, outFile,
                new PairRule(parse.GetValue(margin), parse.GetValue(eta), parse.GetValue(minChosen), parse.GetValue(maxRejected),
                    parse.GetValue(minChosenQuantile), parse.GetValue(maxRejectedQuantile), parse.GetValue(lengthControl), parse.GetValue(scoreStrength)),
                parse.GetValue(overwrite));
            var table = new Table().Border(TableBorder.Rounded).AddColumn("prompts").AddColumn("pairs").AddColumn("no pair (why)").AddColumn("judge")
                .AddColumn("format failures");
            table.AddRow(report.Prompts.ToString(), report.Pairs.ToString(),
                Markup.Escape(report.NoPair.Count == 0 ? "none" : string.Join(", ", report.NoPair.Select(kv => $"{kv.Value} {kv.Key}"))),
                report.Judge, report.FormatFailures.ToString());
            var console = CliConsole.Out();
            console.Write(table);
            console.MarkupLine($"wrote [bold]{Markup.Escape(outFile)}[/], {Markup.Escape(Path.GetFileName(PairStage.ReportPath(outFile)))} and {Markup.Escape(Path.GetFileName(PairStage.PlotPath(outFile)))}");
            return 0;
        });
        return command;
    }
}
