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
        var model = CliOptions.Model("The judge: a Hugging Face model folder (normally the model that generated the candidates); not read by the verifier and command judges.");
        model.Required = false;
        var candidates = new Option<FileInfo>("--candidates") { Description = "Candidates JSONL from 'selfalign generate'.", Required = true };
        var output = new Option<FileInfo>("--out") { Description = "Judgments JSONL (appended to when resuming).", Required = true };
        var judge = new Option<string>("--judge")
        {
            Description = "yesno (IPO), additive (Self-Rewarding 5-point), pairwise (PSO, every candidate pair), verifier (the checks of --tasks) " +
                "or command (the program of --command).",
            DefaultValueFactory = _ => "yesno",
        };
        var tasks = new Option<FileInfo?>("--tasks") { Description = "Verifier judge: a task JSONL whose ids are the prompt ids, each with a 'check' (see docs/judging.md)." };
        var program = new Option<string[]>("--command")
        {
            Description = "Command judge: the program and its arguments; it reads candidate rows as JSON lines and writes one {\"score\": x} line per row.",
            AllowMultipleArgumentsPerToken = true,
        };
        var prompts = new Option<string>("--prompts") { Description = "Yes/no prompt set: ipo-dpo, ipo-eval or a JSON file.", DefaultValueFactory = _ => "ipo-dpo" };
        var format = new Option<string>("--format") { Description = "chat or plain.", DefaultValueFactory = _ => "chat" };
        var category = new Option<string>("--category") { Description = "Category whose yes/no prompt is used: chat, code, math, safety, or auto (the model categorizes each prompt).", DefaultValueFactory = _ => "chat" };
        var samples = new Option<int>("--samples") { Description = "Additive judge: judgments per candidate.", DefaultValueFactory = _ => 3 };
        var seed = new Option<ulong>("--seed") { Description = "Seed of sampled judgments.", DefaultValueFactory = _ => 0 };
        var batchTokens = new Option<int>("--batch-tokens") { Description = "Most padded tokens per forward batch.", DefaultValueFactory = _ => 4096 };
        var dtype = CliOptions.DType("Compute dtype: auto (bf16 where the CPU computes it natively, else f32), bf16, f32 or f16.");
        var adapter = CliOptions.Adapter();
        var templateArgs = CliOptions.TemplateArgs();
        var overwrite = CliOptions.Overwrite();
        var engine = new EngineCliOptions();
        var command = new Command("judge", "Let the model judge its own candidates: IPO yes/no, Self-Rewarding additive (0-5) or PSO pairwise. " +
            "Resumable: run the same command again and only the missing judgments are made; changed options are refused.")
        {
            model, adapter, candidates, output, judge, prompts, category, format, samples, seed, tasks, program, batchTokens, dtype, templateArgs, overwrite,
        };
        foreach (var option in engine.All) command.Options.Add(option);
        command.SetAction(parse =>
        {
            CliOptions.Apply(parse);
            var kind = parse.GetValue(judge) switch
            {
                "yesno" => JudgeKind.YesNo,
                "additive" => JudgeKind.Additive,
                "pairwise" => JudgeKind.Pairwise,
                "verifier" => JudgeKind.Verifier,
                "command" => JudgeKind.Command,
                var j => throw new UsageException($"--judge '{j}': use yesno, additive, pairwise, verifier or command"),
            };
            if (kind == JudgeKind.Verifier && parse.GetValue(tasks) is null) throw new UsageException("--judge verifier needs --tasks");
            if (kind == JudgeKind.Command && parse.GetValue(program) is not { Length: > 0 }) throw new UsageException("--judge command needs --command PROGRAM [ARGS...]");
            bool isProgram = kind is JudgeKind.Verifier or JudgeKind.Command;
            if (!isProgram && parse.GetValue(model) is null) throw new UsageException("--model is required by the model judges (yesno, additive, pairwise)");
            var layout = parse.GetValue(format) switch
            {
                "chat" => JudgeFormat.Chat,
                "plain" => JudgeFormat.Plain,
                var f => throw new UsageException($"--format '{f}': use chat or plain"),
            };
            var job = new JudgeJob(parse.GetValue(model)?.FullName ?? "", parse.GetRequiredValue(candidates).FullName, parse.GetRequiredValue(output).FullName,
                new CandidateJudgeOptions(kind, parse.GetValue(prompts)!, layout, parse.GetValue(category)!, parse.GetValue(samples), parse.GetValue(seed),
                    parse.GetValue(tasks)?.FullName, parse.GetValue(program)),
                CliOptions.ParseDType(parse.GetValue(dtype)!), parse.GetValue(batchTokens), parse.GetValue(adapter)?.FullName, parse.GetValue(overwrite),
                TemplateArgs: CliOptions.ParseTemplateArgs(parse.GetValue(templateArgs)), Engine: engine.Parse(parse));
            int written = CliProgress.Run(progress => JudgeStage.Run(job, progress));
            CliConsole.Out().MarkupLine(written == 0 ? $"{Markup.Escape(job.Output)} is complete."
                : $"wrote {written} judgments to [bold]{Markup.Escape(job.Output)}[/]");
            return 0;
        });
        return command;
    }
}
