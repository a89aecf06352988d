using System.CommandLine;
using SelfAlign.Pipeline;
using SelfAlign.Text;
using Spectre.Console;

namespace SelfAlign.Cli.Commands;

/// <summary>
/// <c>selfalign generate</c>: N sampled completions per prompt, one JSONL row each, resumable: a
/// killed run started again with the same options writes only the rows still missing.
/// </summary>
internal static class GenerateCommand
{
    public static Command Create()
    {
        var model = CliOptions.Model("A Hugging Face model folder (config.json, safetensors, tokenizer files).");
        var prompts = new Option<FileInfo>("--prompts") { Description = "JSONL prompts: {\"id\", \"prompt\"} or {\"id\", \"messages\"}.", Required = true };
        var output = new Option<FileInfo>("--out") { Description = "JSONL file of candidates (appended to when resuming).", Required = true };
        var samples = new Option<int>("-n", "--samples") { Description = "Completions per prompt.", DefaultValueFactory = _ => 1 };
        var temperature = new Option<double>("--temperature") { Description = "Sampling temperature; 0 is greedy.", DefaultValueFactory = _ => 1.0 };
        var topK = new Option<int>("--top-k") { Description = "Keep the k most likely tokens (0: all).", DefaultValueFactory = _ => 0 };
        var topP = new Option<double>("--top-p") { Description = "Nucleus sampling mass.", DefaultValueFactory = _ => 1.0 };
        var minP = new Option<double>("--min-p") { Description = "Drop tokens below min-p times the top probability.", DefaultValueFactory = _ => 0.0 };
        var penalty = new Option<double>("--repetition-penalty") { Description = "Penalty on tokens already seen (1: none).", DefaultValueFactory = _ => 1.0 };
        var maxNew = new Option<int>("--max-new-tokens") { Description = "Most tokens per completion.", DefaultValueFactory = _ => 256 };
        var stops = new Option<string[]>("--stop") { Description = "Stop string (repeatable)." };
        var seed = new Option<ulong>("--seed") { Description = "Run seed; each prompt's samples depend only on it and the prompt id.", DefaultValueFactory = _ => 0 };
        var batch = new Option<int>("--batch-size") { Description = "Most sequences decoded together.", DefaultValueFactory = _ => 32 };
        var longPrompts = CliOptions.LongPrompts();
        var engine = new EngineCliOptions();
        var noTemplate = new Option<bool>("--no-chat-template") { Description = "Feed 'prompt' strings to the model as they are." };
        var templateArgs = CliOptions.TemplateArgs();
        var dtype = CliOptions.DType("Compute dtype: auto (bf16 where the CPU computes it natively, else f32), bf16, f32 or f16.");
        var adapter = CliOptions.Adapter();
        var overwrite = CliOptions.Overwrite();
        var command = new Command("generate", "Sample N candidate completions per prompt into a JSONL file. Resumable: run the same command again " +
            "and only the missing rows are generated; changed options are refused.")
        {
            model, adapter, prompts, output, samples, temperature, topK, topP, minP, penalty, maxNew, stops, seed, longPrompts, noTemplate, templateArgs,
            batch, dtype, overwrite,
        };
        foreach (var option in engine.All) command.Options.Add(option);
        command.SetAction(parse =>
        {
            CliOptions.Apply(parse);
            var sampling = new SamplingOptions
            {
                Temperature = parse.GetValue(temperature),
                TopK = parse.GetValue(topK),
                TopP = parse.GetValue(topP),
                MinP = parse.GetValue(minP),
                RepetitionPenalty = parse.GetValue(penalty),
                MaxNewTokens = parse.GetValue(maxNew),
                StopStrings = parse.GetValue(stops) ?? [],
            };
            var job = new GenerateJob(parse.GetRequiredValue(model).FullName, parse.GetRequiredValue(prompts).FullName, parse.GetRequiredValue(output).FullName,
                parse.GetValue(samples), sampling, parse.GetValue(seed), parse.GetValue(batch), parse.GetValue(noTemplate),
                CliOptions.ParseTemplateArgs(parse.GetValue(templateArgs)), CliOptions.ParseDType(parse.GetValue(dtype)!), parse.GetValue(adapter)?.FullName,
                CliOptions.ParseLongPrompts(parse.GetValue(longPrompts)!), parse.GetValue(overwrite), engine.Parse(parse));
            var summary = CliProgress.Run(progress => GenerateStage.Run(job, progress));
            Report(job, summary);
            return 0;
        });
        return command;
    }

    static void Report(GenerateJob job, GenerateSummary s)
    {
        var console = CliConsole.Out();
        if (s.NewRows == 0)
        {
            console.MarkupLine($"[green]{Markup.Escape(job.Output)} is complete[/] ({s.TotalRows} rows).");
            return;
        }
        var table = new Table().Border(TableBorder.Rounded).AddColumn("prompts").AddColumn("new rows").AddColumn("total rows")
            .AddColumn("tokens").AddColumn("tokens/s").AddColumn("stopped / hit max tokens").AddColumn("prompts truncated");
        table.AddRow(s.Prompts.ToString(), s.NewRows.ToString(), s.TotalRows.ToString(), s.Tokens.ToString("N0"),
            $"{s.Tokens / Math.Max(1e-9, s.Seconds):F1}", $"{s.Stopped} / {s.Truncated}", s.TruncatedPrompts.ToString());
        console.Write(table);
        console.MarkupLine($"wrote [bold]{Markup.Escape(job.Output)}[/]");
    }
}
