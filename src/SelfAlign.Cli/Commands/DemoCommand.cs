using System.CommandLine;
using SelfAlign.Demo;
using Spectre.Console;

namespace SelfAlign.Cli.Commands;

/// <summary><c>selfalign demo</c>: the method end to end on a model SelfAlign trains itself, measured against exact verifiers.</summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var quick = new Option<bool>("--quick") { Description = "A smaller world and model: 1 to 2 minutes instead of 9 to 19 on 2 cores (the full run's results are the ones that mean something)." };
        var seed = new Option<int>("--seed") { Description = "Seed of the world, the seed model and the loops.", DefaultValueFactory = _ => 1 };
        var output = new Option<DirectoryInfo>("--out") { Description = "Folder of the report, plots, benchmark and loop runs.", DefaultValueFactory = _ => new DirectoryInfo("demo") };
        var cache = new Option<DirectoryInfo>("--cache")
        {
            Description = "Where trained seed models are kept by the hash of their recipe, so a second demo reuses them.",
            DefaultValueFactory = _ => new DirectoryInfo(DefaultCache()),
        };
        var overwrite = CliOptions.Overwrite();
        var command = new Command("demo", "Train a tiny model on a task world with exact verifiers, measure its yes/no, additive and pairwise judges, " +
            "run the self-improvement loop with each judge (and the verifier as oracle), and report every model's true success. " +
            "Resumable: run the same command again to go on where it stopped.")
        {
            quick, seed, output, cache, overwrite,
        };
        command.SetAction(parse =>
        {
            CliOptions.Apply(parse);
            var options = new DemoOptions(parse.GetValue(output)!.FullName, parse.GetValue(cache)!.FullName, parse.GetValue(seed), parse.GetValue(quick), parse.GetValue(overwrite));
            var result = CliProgress.Run(progress => DemoRun.Run(options, progress));
            Print(result, options);
            return 0;
        });
        return command;
    }

    static string DefaultCache() =>
        Path.Combine(Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"), "selfalign", "demo");

    static void Print(DemoResult result, DemoOptions options)
    {
        var console = CliConsole.Out();
        var judges = new Table().Border(TableBorder.Rounded).AddColumn("judge (M0)").AddColumn("benchmark accuracy % [[95% CI]]").AddColumn("ties").AddColumn("format failures");
        foreach (var j in result.Judges) judges.AddRow(j.Judge, Markup.Escape(DemoReport.Ci(j.Overall)), j.Ties.ToString(), j.FormatFailures.ToString());
        console.Write(judges);
        var loops = new Table().Border(TableBorder.Rounded).AddColumn("method");
        for (int t = 0; t <= result.Plan.Iterations; t++) loops.AddColumn($"M{t} sampled % [[95% CI]]");
        foreach (var m in DemoPlan.Methods)
            loops.AddRow([m.Label, .. Enumerable.Range(0, result.Plan.Iterations + 1)
                .Select(t => Markup.Escape(DemoReport.Ci(result.Loops.FirstOrDefault(p => p.Method == m.Name && p.Iteration == t)?.Rate(DemoReport.Sampled))))]);
        console.Write(loops);
        foreach (var c in DemoReport.Claims(result))
            console.MarkupLine($"{(c.Holds ? "[green]holds[/]" : "[red]does not hold[/]")}  {Markup.Escape(c.Claim)}: {Markup.Escape(c.Evidence)}");
        console.MarkupLine($"{result.Seconds / 60:F1} min; report: [bold]{Markup.Escape(Path.Combine(options.Out, "report.md"))}[/]");
    }
}
