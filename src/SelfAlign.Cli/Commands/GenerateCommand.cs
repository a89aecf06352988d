using System.CommandLine;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using SelfAlign.Data;
using SelfAlign.Inference;
using SelfAlign.IO;
using SelfAlign.Modeling;
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
        var noTemplate = new Option<bool>("--no-chat-template") { Description = "Feed 'prompt' strings to the model as they are." };
        var templateArgs = CliOptions.TemplateArgs();
        var dtype = CliOptions.DType("Compute dtype (bf16 or f32).");
        var command = new Command("generate", "Sample candidate completions for a prompts file (resumable).")
        {
            model, prompts, output, samples, temperature, topK, topP, minP, penalty, maxNew, stops, seed, batch, noTemplate, templateArgs, dtype,
        };
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
            sampling.Validate();
            if (parse.GetValue(samples) < 1) throw new UsageException("-n must be at least 1");
            var job = new Job(parse.GetRequiredValue(model).FullName, parse.GetRequiredValue(prompts).FullName, parse.GetRequiredValue(output).FullName,
                parse.GetValue(samples), sampling, parse.GetValue(seed), Math.Max(1, parse.GetValue(batch)), parse.GetValue(noTemplate),
                CliOptions.ParseTemplateArgs(parse.GetValue(templateArgs)), CliOptions.ParseDType(parse.GetValue(dtype)!));
            Run(job);
            return 0;
        });
        return command;
    }

    sealed record Job(string Model, string Prompts, string Output, int Samples, SamplingOptions Sampling, ulong Seed, int BatchRows,
        bool NoTemplate, Dictionary<string, JsonElement> TemplateArgs, TorchSharp.torch.ScalarType DType);

    static void Run(Job job)
    {
        var rows = PromptFile.Read(job.Prompts);
        var tokenizer = Tokenizer.Load(job.Model);
        var template = ChatTemplate.For(tokenizer);
        var prompts = rows.Select(r => tokenizer.Encode(Render(r, template, job))).ToList();

        RunManifest.WriteOrCheck(job.Output + ".manifest.json", "generate", Config(job));
        using var output = JsonlAppender.Open(job.Output);
        var done = output.Existing.Select(e => (e.GetProperty("prompt_id").GetString()!, e.GetProperty("sample").GetInt32())).ToHashSet();
        var pending = new List<(int Row, GenerationRequest Request)>();
        for (int i = 0; i < rows.Count; i++)
        {
            var missing = Enumerable.Range(0, job.Samples).Where(s => !done.Contains((rows[i].Id, s))).ToArray();
            if (missing.Length > 0)
                pending.Add((i, new GenerationRequest(prompts[i], job.Samples, job.Seed ^ StableHash.Of(rows[i].Id)) { Only = missing }));
        }
        var console = CliConsole.Out();
        int total = pending.Sum(p => p.Request.Only!.Count);
        if (total == 0)
        {
            console.MarkupLine($"[green]{Markup.Escape(job.Output)} is complete[/] ({done.Count} rows).");
            return;
        }
        if (done.Count > 0) console.MarkupLine($"Resuming: {done.Count} rows already written, {total} to go.");

        using var model = ModelFolder.Load(job.Model, new LoadOptions(job.DType));
        var generator = new Generator(model, tokenizer);
        var clock = Stopwatch.StartNew();
        long tokens = 0;
        var reasons = new Dictionary<FinishReason, int>();
        console.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("generating", maxValue: total);
                foreach (var c in generator.Generate(pending.Select(p => p.Request).ToList(), job.Sampling, new GeneratorOptions(job.BatchRows),
                             produced => { tokens += produced; task.Description = $"generating {tokens / Math.Max(1e-9, clock.Elapsed.TotalSeconds):F1} tok/s"; }))
                {
                    var row = rows[pending[c.Request].Row];
                    output.Append(new Dictionary<string, object?>
                    {
                        ["prompt_id"] = row.Id,
                        ["sample"] = c.Sample,
                        ["prompt"] = row.Text is not null ? row.Text : row.Messages,
                        ["text"] = c.Text,
                        ["num_tokens"] = c.TokenIds.Count,
                        ["finish_reason"] = c.FinishReason == FinishReason.Stop ? "stop" : "length",
                        ["sum_logprob"] = Math.Round(c.SumLogProb, 6),
                    });
                    reasons[c.FinishReason] = reasons.GetValueOrDefault(c.FinishReason) + 1;
                    task.Increment(1);
                }
            });

        var table = new Table().Border(TableBorder.Rounded).AddColumn("prompts").AddColumn("new rows").AddColumn("total rows")
            .AddColumn("tokens").AddColumn("tokens/s").AddColumn("stop / length");
        table.AddRow(rows.Count.ToString(), total.ToString(), (done.Count + total).ToString(), tokens.ToString(),
            $"{tokens / clock.Elapsed.TotalSeconds:F1}", $"{reasons.GetValueOrDefault(FinishReason.Stop)} / {reasons.GetValueOrDefault(FinishReason.Length)}");
        console.Write(table);
        console.MarkupLine($"wrote [bold]{Markup.Escape(job.Output)}[/]");
    }

    static string Render(PromptRow row, ChatTemplate template, Job job)
    {
        if (job.NoTemplate)
            return row.Text ?? throw new DataFormatException(job.Prompts, row.Line, "--no-chat-template needs 'prompt' strings, not messages");
        return row.Messages is JsonElement messages
            ? template.Render(messages, addGenerationPrompt: true, job.TemplateArgs)
            : template.Render([new ChatMessage("user", row.Text!)], addGenerationPrompt: true, job.TemplateArgs);
    }

    static JsonObject Config(Job job) => new()
    {
        ["model"] = job.Model,
        ["prompts"] = job.Prompts,
        ["prompts_sha256"] = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(job.Prompts))),
        ["samples"] = job.Samples,
        ["seed"] = job.Seed,
        ["sampling"] = JsonSerializer.SerializeToNode(job.Sampling, SnakeCase),
        ["chat_template"] = !job.NoTemplate,
        ["template_args"] = JsonSerializer.SerializeToNode(job.TemplateArgs),
        ["dtype"] = job.DType.ToString(),
    };

    static readonly JsonSerializerOptions SnakeCase = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
}
