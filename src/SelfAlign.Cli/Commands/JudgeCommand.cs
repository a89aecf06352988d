using System.CommandLine;
using SelfAlign.Judging;
using SelfAlign.Pipeline;
using Spectre.Console;

namespace SelfAlign.Cli.Commands;

/// <summary><c>selfalign judge</c>: the model judges generated candidates (per candidate or per pair); resumable.</summary>
internal static class JudgeCommand
{
    public static Command Create()
    {
        var model = CliOptions.Model("The judge: a Hugging Face model folder (normally the model that generated the candidates).");
        var candidates = new Option<FileInfo>("--candidates") { Description = "Candidates JSONL from 'selfalign generate'.", Required = true };
        var output = new Option<FileInfo>("--out") { Description = "Judgments JSONL (appended to when resuming).", Required = true };
        var judge = new Option<string>("--judge") { Description = "yesno (IPO), additive (Self-Rewarding 5-point) or pairwise (PSO, every candidate pair).", DefaultValueFactory = _ => "yesno" };
        var prompts = new Option<string>("--prompts") { Description = "Yes/no prompt set: ipo-dpo, ipo-eval or a JSON file.", DefaultValueFactory = _ => "ipo-dpo" };
        var format = new Option<string>("--format") { Description = "chat or plain.", DefaultValueFactory = _ => "chat" };
        var category = new Option<string>("--category") { Description = "Category whose yes/no prompt is used: chat, code, math, safety, or auto (the model categorizes each prompt).", DefaultValueFactory = _ => "chat" };
        var samples = new Option<int>("--samples") { Description = "Additive judge: judgments per candidate.", DefaultValueFactory = _ => 3 };
        var seed = new Option<ulong>("--seed") { Description = "Seed of sampled judgments.", DefaultValueFactory = _ => 0 };
        var batchTokens = new Option<int>("--batch-tokens") { Description = "Most padded tokens per forward batch.", DefaultValueFactory = _ => 4096 };
        var dtype = CliOptions.DType("Compute dtype: auto (bf16 where the CPU computes it natively, else f32), bf16, f32 or f16.");
        var adapter = CliOptions.Adapter();
        var overwrite = CliOptions.Overwrite();
        var command = new Command("judge", "Let the model judge its own candidates: IPO yes/no, Self-Rewarding additive (0-5) or PSO pairwise. " +
            "Resumable: run the same command again and only the missing judgments are made; changed options are refused.")
        {
            model, adapter, candidates, output, judge, prompts, category, format, samples, seed, batchTokens, dtype, overwrite,
        };
        command.SetAction(parse =>
        {
            CliOptions.Apply(parse);
            var kind = parse.GetValue(judge) switch
            {
                "yesno" => JudgeKind.YesNo,
                "additive" => JudgeKind.Additive,
                "pairwise" => JudgeKind.Pairwise,
                var j => throw new UsageException($"--judge '{j}': use yesno, additive or pairwise"),
            };
            var layout = parse.GetValue(format) switch
            {
                "chat" => JudgeFormat.Chat,
                "plain" => JudgeFormat.Plain,
                var f => throw new UsageException($"--format '{f}': use chat or plain"),
            };
            var job = new JudgeJob(parse.GetRequiredValue(model).FullName, parse.GetRequiredValue(candidates).FullName, parse.GetRequiredValue(output).FullName,
                new CandidateJudgeOptions(kind, parse.GetValue(prompts)!, layout, parse.GetValue(category)!, parse.GetValue(samples), parse.GetValue(seed)),
                CliOptions.ParseDType(parse.GetValue(dtype)!), parse.GetValue(batchTokens), parse.GetValue(adapter)?.FullName, parse.GetValue(overwrite));
            int written = CliProgress.Run(progress => JudgeStage.Run(job, progress));
            CliConsole.Out().MarkupLine(written == 0 ? $"{Markup.Escape(job.Output)} is complete."
                : $"wrote {written} judgments to [bold]{Markup.Escape(job.Output)}[/]");
            return 0;
        });
        return command;
    }
}
