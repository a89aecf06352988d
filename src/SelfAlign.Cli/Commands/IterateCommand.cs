using System.CommandLine;
using SelfAlign.Evaluation;
using SelfAlign.Pipeline;
using Spectre.Console;

namespace SelfAlign.Cli.Commands;

/// <summary><c>selfalign iterate</c>: the whole generate -> judge -> pair -> train loop from a config file, resumable.</summary>
internal static class IterateCommand
{
    public static Command Create()
    {
        var config = new Option<FileInfo>("--config") { Description = "Run configuration (JSON; see docs/training.md).", Required = true };
        var runs = new Option<DirectoryInfo>("--runs") { Description = "Folder of run folders; the run goes to <runs>/<name>.", DefaultValueFactory = _ => new DirectoryInfo("runs") };
        var overwrite = new Option<bool>("--overwrite") { Description = "Delete the run folder and start the run again from the seed model." };
        var command = new Command("iterate", "Run the self-improvement loop (M0 -> M1 -> ...) from a config file. Resumable: run the same command " +
            "again to go on where it stopped; a changed config key is accepted while no stage that uses it has started, refused after.")
        {
            config, runs, overwrite,
        };
        command.SetAction(parse =>
        {
            CliOptions.Apply(parse);
            var cfg = IterateConfig.Load(parse.GetRequiredValue(config).FullName);
            string run = CliProgress.Run(progress => IterateStage.Run(cfg, parse.GetValue(runs)!.FullName, LoopEvaluator.From(cfg), progress, parse.GetValue(overwrite)));
            CliConsole.Out().MarkupLine($"report: [bold]{Markup.Escape(Path.Combine(run, "report.md"))}[/]");
            return 0;
        });
        return command;
    }
}
