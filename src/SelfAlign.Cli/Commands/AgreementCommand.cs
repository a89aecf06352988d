using System.CommandLine;
using SelfAlign.Pipeline;
using Spectre.Console;

namespace SelfAlign.Cli.Commands;

/// <summary><c>selfalign agreement</c>: how the model's judgments of ranked responses agree with the human ranking.</summary>
internal static class AgreementCommand
{
    public static Command Create()
    {
        var candidates = new Option<FileInfo>("--candidates")
        {
            Description = "Ranked responses: a candidates JSONL (prompt_id, sample, prompt, text) whose rows also hold 'rank' (0 best) or 'human_score'.",
            Required = true,
        };
        var judgments = new Option<FileInfo>("--judgments") { Description = "Judgments JSONL from 'selfalign judge' on that file.", Required = true };
        var output = new Option<FileInfo>("--out") { Description = "The agreement as JSON.", Required = true };
        var overwrite = CliOptions.Overwrite();
        var command = new Command("agreement", "Measure a judge against human rankings: pairwise accuracy, exact match, 5-best (additive judge), " +
            "Spearman and Kendall's tau-b (the Self-Rewarding paper's Table 4).")
        {
            candidates, judgments, output, overwrite,
        };
        command.SetAction(parse =>
        {
            CliOptions.Apply(parse);
            var (judge, a) = AgreementStage.Run(parse.GetRequiredValue(candidates).FullName, parse.GetRequiredValue(judgments).FullName,
                parse.GetRequiredValue(output).FullName, parse.GetValue(overwrite));
            static string Pct(double? x) => x is double v ? $"{100 * v:F1}%" : "n/a";
            static string Num(double? x) => x is double v ? $"{v:F3}" : "n/a";
            var table = new Table().Border(TableBorder.Rounded).AddColumn("judge").AddColumn("instructions").AddColumn("pairwise accuracy")
                .AddColumn("5-best").AddColumn("exact match").AddColumn("Spearman").AddColumn("Kendall τ");
            table.AddRow(judge, a.Instructions.ToString(), $"{Pct(a.PairwiseAccuracy)} of {a.Pairs}", Pct(a.FiveBest), Pct(a.ExactMatch), Num(a.Spearman), Num(a.Kendall));
            var console = CliConsole.Out();
            console.Write(table);
            console.MarkupLine($"wrote [bold]{Markup.Escape(parse.GetRequiredValue(output).FullName)}[/]");
            return 0;
        });
        return command;
    }
}
