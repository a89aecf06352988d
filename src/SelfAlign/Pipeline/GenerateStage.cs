using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using SelfAlign.Data;
using SelfAlign.IO;
using SelfAlign.Inference;
using SelfAlign.Inference.Remote;
using SelfAlign.Modeling.Lora;
using SelfAlign.Modeling;
using SelfAlign.Text;
using ScalarType = TorchSharp.torch.ScalarType;

namespace SelfAlign.Pipeline;

/// <summary>What to do with a prompt that, with the tokens to generate, does not fit in the model's positions.</summary>
public enum LongPromptPolicy
{
    /// <summary>Stop before the model is loaded, naming the prompt.</summary>
    Refuse,
    /// <summary>Keep the prompt's last tokens (its end, where the question usually is), and count it.</summary>
    Truncate,
}

/// <summary>What <see cref="GenerateStage"/> samples.</summary>
/// <param name="Model">Model folder (with <paramref name="Engine"/>: its tokenizer and chat template).</param>
/// <param name="Prompts">Prompts JSONL.</param>
/// <param name="Output">Candidates JSONL (appended to when resuming).</param>
/// <param name="Samples">Completions per prompt.</param>
/// <param name="Sampling">Sampling settings.</param>
/// <param name="Seed">Run seed; each prompt's samples depend only on it and the prompt id.</param>
/// <param name="BatchRows">Most sequences decoded together.</param>
/// <param name="NoTemplate">Feed prompt strings as they are, without the chat template.</param>
/// <param name="TemplateArgs">Extra variables for the chat template.</param>
/// <param name="DType">Compute dtype; null: <see cref="ComputeDType.Fastest"/>.</param>
/// <param name="Adapter">A PEFT adapter folder merged into the model, or null.</param>
/// <param name="LongPrompts">What to do with a prompt longer than the model's positions allow.</param>
/// <param name="Overwrite">Replace an output this command did not write (or start its own over).</param>
/// <param name="Engine">Inference servers to sample on instead of loading the weights here (the model folder then supplies the tokenizer only); null: local.</param>
public sealed record GenerateJob(string Model, string Prompts, string Output, int Samples, SamplingOptions Sampling, ulong Seed,
    int BatchRows = 32, bool NoTemplate = false, IReadOnlyDictionary<string, JsonElement>? TemplateArgs = null, ScalarType? DType = null,
    string? Adapter = null, LongPromptPolicy LongPrompts = LongPromptPolicy.Refuse, bool Overwrite = false, RemoteEngineOptions? Engine = null)
{
    /// <summary>Throws <see cref="InvalidSettingException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        Sampling.Validate();
        if (Samples < 1) throw new InvalidSettingException("samples", $"must be at least 1, got {Samples}");
        if (BatchRows < 1) throw new InvalidSettingException("batch_size", $"must be at least 1, got {BatchRows}");
    }
}

/// <summary>What a generate run did.</summary>
public sealed record GenerateSummary(int Prompts, int NewRows, int TotalRows, long Tokens, double Seconds, int Stopped, int Truncated, int TruncatedPrompts = 0);

/// <summary>
/// N sampled completions per prompt, one JSONL row each (<c>prompt_id</c>, <c>sample</c>,
/// <c>prompt</c>, <c>text</c>, <c>num_tokens</c>, <c>finish_reason</c>, <c>sum_logprob</c>),
/// resumable: a killed run started again with the same job writes only the rows still missing.
/// </summary>
public static class GenerateStage
{
    /// <summary>Runs <paramref name="job"/>.</summary>
    public static GenerateSummary Run(GenerateJob job, IStageProgress? progress = null)
    {
        progress ??= SilentProgress.Instance;
        job.Validate();
        var rows = PromptFile.Read(job.Prompts);
        if (job.Engine is not null && job.Adapter is not null) throw new InvalidSettingException("adapter", "with an engine the server holds the weights; load the adapter there");
        var tokenizer = Tokenizer.Load(job.Model);
        // On servers, the first one says how long a sequence may be; here, the model's config does.
        using var remote = job.Engine is null ? null : new RemoteLanguageModel(tokenizer, job.Engine, job.TemplateArgs);
        int positions = remote?.MaxSequenceLength ?? ModelFolder.Check(job.Model).MaxPositionEmbeddings;
        var template = ChatTemplate.For(tokenizer);
        var (prompts, cut) = Fit(rows, rows.Select(r => (IReadOnlyList<int>)tokenizer.Encode(Render(r, template, job))).ToList(), positions, job);
        if (cut > 0) progress.Note($"{cut} prompt(s) kept only their last tokens to fit the model's {positions} positions");

        OutputGuard.ClaimFile(job.Output, "generate", [new("prompts file", job.Prompts), new("model", job.Model), new("adapter", job.Adapter)], job.Overwrite);
        RunManifest.WriteOrCheck(OutputGuard.ManifestOf(job.Output), "generate", Config(job));
        using var output = JsonlAppender.Open(job.Output);
        var done = output.Existing.Select(e => (e.String("prompt_id"), e.Int("sample"))).ToHashSet();
        var pending = new List<(int Row, GenerationRequest Request)>();
        for (int i = 0; i < rows.Count; i++)
        {
            var missing = Enumerable.Range(0, job.Samples).Where(s => !done.Contains((rows[i].Id, s))).ToArray();
            if (missing.Length > 0)
                pending.Add((i, new GenerationRequest(prompts[i], job.Samples, job.Seed ^ StableHash.Of(rows[i].Id)) { Only = missing }));
        }
        int total = pending.Sum(p => p.Request.Only!.Count);
        if (total == 0) return new GenerateSummary(rows.Count, 0, done.Count, 0, 0, 0, 0, cut);
        if (done.Count > 0) progress.Note($"Resuming: {done.Count} rows already written, {total} to go.");

        using var local = remote is null ? Engines.Open(job.Model, null, new LoadOptions(job.DType, Adapter: job.Adapter),
            new LocalModelOptions { Generation = new GeneratorOptions(job.BatchRows) }) : null;
        ILanguageModel engine = remote ?? local!.Engine;
        var clock = Stopwatch.StartNew();
        long tokens = 0;
        int stopped = 0;
        // The bar counts token budgets: each step advances it, and a row that stops early hands back what it did not use.
        var task = progress.Begin("generating", (double)total * job.Sampling.MaxNewTokens);
        foreach (var c in engine.Generate(pending.Select(p => p.Request).ToList(), job.Sampling,
                     produced =>
                     {
                         tokens += produced;
                         task.Increment(produced);
                         task.Describe($"generating {tokens / Math.Max(1e-9, clock.Elapsed.TotalSeconds):F1} tok/s{(remote is null ? "" : $" [{remote.Pool.Summary()}]")}");
                     }))
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
            if (c.FinishReason == FinishReason.Stop) stopped++;
            task.Increment(job.Sampling.MaxNewTokens - c.TokenIds.Count);
        }
        return new GenerateSummary(rows.Count, total, done.Count + total, tokens, clock.Elapsed.TotalSeconds, stopped, total - stopped, cut);
    }

    /// <summary>
    /// One completion per row through <paramref name="job"/> (resumable; its sample count should be 1):
    /// writes the rows (each <c>id</c> with <c>messages</c> or <c>prompt</c>) to the job's prompts file,
    /// runs it, and returns each row's first completion by id. The evaluations answer through this.
    /// </summary>
    public static Dictionary<string, string> Answers(GenerateJob job, IEnumerable<JsonObject> rows, IStageProgress progress)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(job.Prompts))!);
        AtomicFile.WriteAllText(job.Prompts, string.Concat(rows.Select(r => r.ToJsonString(JsonlAppender.RowOptions) + "\n")));
        Run(job, progress);
        return Candidates.Read(job.Output).ToDictionary(g => g.PromptId, g => g.Samples[0].Text);
    }

    /// <summary>A one-turn chat: the user's message alone.</summary>
    public static JsonArray UserTurn(string content) => [new JsonObject { ["role"] = "user", ["content"] = content }];

    /// <summary>Checks that every prompt leaves room for the tokens to generate; truncates from the left or refuses, as the job says.</summary>
    static (List<IReadOnlyList<int>> Prompts, int Cut) Fit(List<PromptRow> rows, List<IReadOnlyList<int>> prompts, int positions, GenerateJob job)
    {
        int room = positions - job.Sampling.MaxNewTokens;
        if (room < 1)
            throw new InvalidSettingException("max_new_tokens", $"is {job.Sampling.MaxNewTokens}, but the model has only {positions} positions for the prompt and the completion together");
        int cut = 0;
        for (int i = 0; i < prompts.Count; i++)
        {
            if (prompts[i].Count <= room) continue;
            if (job.LongPrompts == LongPromptPolicy.Refuse)
                throw new DataFormatException(job.Prompts, rows[i].Line, $"the prompt is {prompts[i].Count:N0} tokens; with {job.Sampling.MaxNewTokens} new tokens " +
                    $"the model's {positions:N0} positions leave room for {room:N0} (set long prompts to truncate to keep their last {room:N0} tokens)");
            prompts[i] = prompts[i].Skip(prompts[i].Count - room).ToArray();
            cut++;
        }
        return (prompts, cut);
    }

    static string Render(PromptRow row, ChatTemplate template, GenerateJob job)
    {
        if (job.NoTemplate)
            return row.Text ?? throw new DataFormatException(job.Prompts, row.Line, "--no-chat-template needs 'prompt' strings, not messages");
        return row.Messages is JsonElement messages
            ? template.Render(messages, addGenerationPrompt: true, job.TemplateArgs)
            : template.Render([new ChatMessage("user", row.Text!)], addGenerationPrompt: true, job.TemplateArgs);
    }

    /// <summary>The job as its manifest records it: a resumed run must present the same.</summary>
    public static JsonObject Config(GenerateJob job) => new JsonObject()
    {
        ["model"] = job.Model,
        ["adapter"] = PeftAdapter.ManifestRecord(job.Adapter),
        ["prompts"] = job.Prompts,
        ["prompts_sha256"] = RunManifest.FileSha256(job.Prompts),
        ["samples"] = job.Samples,
        ["seed"] = job.Seed,
        ["sampling"] = JsonSerializer.SerializeToNode(job.Sampling, SnakeCase),
        ["chat_template"] = !job.NoTemplate,
        ["template_args"] = JsonSerializer.SerializeToNode(job.TemplateArgs ?? new Dictionary<string, JsonElement>()),
        ["dtype"] = (job.DType ?? ComputeDType.Fastest).ToString(),
        ["long_prompts"] = job.LongPrompts.ToString().ToLowerInvariant(),
    }.WithEngine(job.Engine?.ManifestRecord());

    static readonly JsonSerializerOptions SnakeCase = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
}
