using System.CommandLine;
using SelfAlign.Pipeline;
using SelfAlign.Text;
using Spectre.Console;

namespace SelfAlign.Cli.Commands;

/// <summary><c>selfalign self-instruct</c>: new prompts written by the model from few-shot seed prompts, filtered as Self-Instruct filters them.</summary>
internal static class SelfInstructCommand
{
    public static Command Create()
    {
        var model = CliOptions.Model("A Hugging Face model folder: the model that writes prompts.");
        var seedPrompts = new Option<FileInfo>("--seed-prompts") { Description = "Seed prompts (a prompt file, or SFT rows): six of them open each request.", Required = true };
        var output = new Option<FileInfo>("--out") { Description = "New prompts JSONL (appended to when resuming); a prompt file for generate and iterate.", Required = true };
        var count = new Option<int>("--count") { Description = "New prompts to write in all.", Required = true };
        var temperature = new Option<double>("--temperature") { Description = "Sampling temperature (the Self-Rewarding paper: 0.6).", DefaultValueFactory = _ => 0.6 };
        var topP = new Option<double>("--top-p") { Description = "Nucleus mass (the paper: 0.9).", DefaultValueFactory = _ => 0.9 };
        var maxNew = new Option<int>("--max-new-tokens") { Description = "Most tokens per continuation.", DefaultValueFactory = _ => 256 };
        var maxSimilarity = new Option<double>("--max-similarity") { Description = "Drop a prompt whose ROUGE-L with one in the pool is above this (Self-Instruct: 0.7).", DefaultValueFactory = _ => 0.7 };
        var batch = new Option<int>("--batch-size") { Description = "Requests sampled together per round.", DefaultValueFactory = _ => 16 };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the demonstrations and the sampling.", DefaultValueFactory = _ => 0 };
        var dtype = CliOptions.DType("Compute dtype: auto, bf16, f32 or f16.");
        var adapter = CliOptions.Adapter();
        var overwrite = CliOptions.Overwrite();
        var command = new Command("self-instruct", "Let the model write new prompts (Self-Rewarding's self-instruction creation): it continues " +
            "\"Come up with a series of tasks:\" after 6 seed and 2 of its own prompts, and Self-Instruct's filters (length, keywords, " +
            "ROUGE-L above 0.7) drop what a prompt pool should not hold. Resumable: run it again to continue.")
        {
            model, adapter, seedPrompts, output, count, temperature, topP, maxNew, maxSimilarity, batch, seed, dtype, overwrite,
        };
        command.SetAction(parse =>
        {
            CliOptions.Apply(parse);
            var sampling = new SamplingOptions { Temperature = parse.GetValue(temperature), TopP = parse.GetValue(topP), MaxNewTokens = parse.GetValue(maxNew) };
            var job = new SelfInstructJob(parse.GetRequiredValue(model).FullName, parse.GetRequiredValue(seedPrompts).FullName, parse.GetRequiredValue(output).FullName,
                new SelfInstructOptions(parse.GetValue(count), parse.GetValue(seed), sampling, MaxSimilarity: parse.GetValue(maxSimilarity), BatchRows: parse.GetValue(batch)),
                CliOptions.ParseDType(parse.GetValue(dtype)!), parse.GetValue(adapter)?.FullName, parse.GetValue(overwrite));
            var summary = CliProgress.Run(progress => SelfInstructStage.Run(job, progress));
            var table = new Table().Border(TableBorder.Rounded).AddColumn("written").AddColumn("in the file").AddColumn("tasks parsed").AddColumn("dropped (why)");
            table.AddRow(summary.Written.ToString(), summary.Total.ToString(), summary.Candidates.ToString(),
                Markup.Escape(summary.Rejected.Count == 0 ? "none" : string.Join(", ", summary.Rejected.Select(kv => $"{kv.Value} {kv.Key}"))));
            var console = CliConsole.Out();
            console.Write(table);
            console.MarkupLine($"wrote [bold]{Markup.Escape(job.Output)}[/]");
            return 0;
        });
        return command;
    }
}
