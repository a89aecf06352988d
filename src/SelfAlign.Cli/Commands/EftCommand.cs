using System.CommandLine;
using SelfAlign.Pipeline;
using Spectre.Console;

namespace SelfAlign.Cli.Commands;

/// <summary><c>selfalign eft</c>: judge-training rows from the model's additive judgments of human-ranked responses.</summary>
internal static class EftCommand
{
    public static Command Create()
    {
        var candidates = new Option<FileInfo>("--candidates")
        {
            Description = "Ranked responses: a candidates JSONL whose rows also hold 'rank' (0 best) or 'human_score'.",
            Required = true,
        };
        var judgments = new Option<FileInfo>("--judgments") { Description = "The additive judge's judgments of that file ('selfalign judge --judge additive').", Required = true };
        var output = new Option<FileInfo>("--out") { Description = "EFT rows (the SFT format: id, prompt, response).", Required = true };
        var noBalance = new Option<bool>("--no-balance") { Description = "Keep every agreeing row instead of cutting the most common score down to the next one's count." };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the rows balancing drops.", DefaultValueFactory = _ => 0 };
        var overwrite = CliOptions.Overwrite();
        var command = new Command("eft", "Build Evaluation Fine-Tuning rows (Self-Rewarding): the additive judge's prompt and the model's own judgment, " +
            "kept where its scores order an instruction's responses as the humans ranked them. Train on them with 'sft' (IFT + EFT).")
        {
            candidates, judgments, output, noBalance, seed, overwrite,
        };
        command.SetAction(parse =>
        {
            CliOptions.Apply(parse);
            var report = EftStage.Run(parse.GetRequiredValue(candidates).FullName, parse.GetRequiredValue(judgments).FullName,
                parse.GetRequiredValue(output).FullName, !parse.GetValue(noBalance), parse.GetValue(seed), parse.GetValue(overwrite));
            var table = new Table().Border(TableBorder.Rounded).AddColumn("instructions").AddColumn("agreeing rounds").AddColumn("rows")
                .AddColumn("by score").AddColumn("dropped to balance");
            table.AddRow(report.Instructions.ToString(), report.Agreeing.ToString(), report.Rows.ToString(),
                string.Join(", ", report.ByScore.Select(kv => $"{kv.Key}: {kv.Value}")), report.Dropped.ToString());
            var console = CliConsole.Out();
            console.Write(table);
            console.MarkupLine($"wrote [bold]{Markup.Escape(parse.GetRequiredValue(output).FullName)}[/]");
            return 0;
        });
        return command;
    }
}
