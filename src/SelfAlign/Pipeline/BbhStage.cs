using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SelfAlign.Data;
using SelfAlign.Evaluation;
using SelfAlign.IO;
using SelfAlign.Modeling;
using SelfAlign.Text;
using ScalarType = TorchSharp.torch.ScalarType;

namespace SelfAlign.Pipeline;

/// <summary>A BBH zero-shot run.</summary>
/// <param name="Model">The policy's model folder.</param>
/// <param name="Output">The output folder.</param>
/// <param name="Data">A folder of BBH task files with <c>lm_eval_zeroshot.json</c>; null: the shipped one.</param>
/// <param name="Tasks">The tasks to run; empty: all 27.</param>
/// <param name="Limit">The first this many questions of each task (0: all).</param>
/// <param name="MaxNewTokens">Most tokens per answer (lm-evaluation-harness: 256).</param>
/// <param name="ChatTemplate">Put each prompt in a user turn of the model's chat template (the harness's <c>--apply_chat_template</c>); default: the raw prompt.</param>
/// <param name="DType">Compute dtype; null: <see cref="ComputeDType.Fastest"/>.</param>
/// <param name="TemplateArgs">Chat-template variables.</param>
/// <param name="LongPrompts">What to do with a prompt longer than the model's context.</param>
/// <param name="Overwrite">Start over in an output folder this command did not write.</param>
/// <param name="Engine">Inference servers the model answers on (the folder then supplies the tokenizer only); null: local.</param>
public sealed record BbhJob(string Model, string Output, string? Data = null, IReadOnlyList<string>? Tasks = null, int Limit = 0, int MaxNewTokens = 256,
    bool ChatTemplate = false, ScalarType? DType = null, IReadOnlyDictionary<string, JsonElement>? TemplateArgs = null,
    LongPromptPolicy LongPrompts = LongPromptPolicy.Refuse, bool Overwrite = false, Inference.Remote.RemoteEngineOptions? Engine = null)
{
    /// <summary>Throws <see cref="InvalidSettingException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        if (Limit < 0) throw new InvalidSettingException("limit", $"must be >= 0 (0: all), got {Limit}");
        if (MaxNewTokens < 1) throw new InvalidSettingException("max_new_tokens", $"must be at least 1, got {MaxNewTokens}");
    }
}

/// <summary>Accuracy on one task, or on all (<see cref="Task"/> "overall": weighted by task size, as the harness's group score).</summary>
/// <param name="Task">The task.</param>
/// <param name="Count">Questions.</param>
/// <param name="Strict">Share whose raw answer matches ("strict-match").</param>
/// <param name="Flexible">Share whose extracted answer matches ("flexible-extract", the harness's headline).</param>
public sealed record BbhAccuracy(string Task, int Count, double Strict, double Flexible)
{
    /// <summary>The Wilson 95% interval of <see cref="Flexible"/>.</summary>
    public (double Low, double High) FlexibleInterval => Proportion.Wilson(Flexible, Count);
}

/// <summary>
/// Runs a <see cref="BbhJob"/>: greedy answers through the generate stage (resumable), each cut at
/// the harness's stop strings and scored; writes <c>items.jsonl</c>, <c>results.json</c> and <c>report.md</c>.
/// </summary>
public static class BbhStage
{
    /// <summary>Runs <paramref name="job"/>; returns the overall accuracy first, then each task's.</summary>
    public static List<BbhAccuracy> Run(BbhJob job, IStageProgress? progress = null)
    {
        progress ??= SilentProgress.Instance;
        job.Validate();
        string folder = job.Data ?? Bbh.ShippedFolder, settings = Path.Combine(folder, Bbh.SettingsFile);
        var suite = Bbh.Load(settings);
        var tasks = job.Tasks is { Count: > 0 } chosen ? chosen : suite.Tasks;
        var items = suite.Read(folder, tasks, job.Limit);
        Inference.Engines.Check(job.Model, job.Engine);
        OutputGuard.ClaimFolder(job.Output, "eval bbh", [new("BBH data", folder), new("model", job.Model)], job.Overwrite);
        Directory.CreateDirectory(job.Output);
        RunManifest.WriteOrCheck(Path.Combine(job.Output, OutputGuard.FolderManifest), "eval bbh", new JsonObject
        {
            ["model"] = job.Model, ["data"] = job.Data ?? "shipped: data/bbh", ["settings_sha256"] = RunManifest.FileSha256(settings),
            ["tasks"] = new JsonArray([.. tasks.Select(t => (JsonNode?)t)]), ["limit"] = job.Limit, ["max_new_tokens"] = job.MaxNewTokens,
            ["chat_template"] = job.ChatTemplate, ["decoding"] = "greedy", ["dtype"] = (job.DType ?? ComputeDType.Fastest).ToString(),
        }.WithTemplateArgs(job.TemplateArgs).WithEngine(job.Engine?.ManifestRecord()));

        var generate = new GenerateJob(job.Model, Path.Combine(job.Output, "responses.prompts.jsonl"), Path.Combine(job.Output, "responses.jsonl"), 1,
            new SamplingOptions { Temperature = 0, MaxNewTokens = job.MaxNewTokens, StopStrings = suite.Until }, 0, NoTemplate: !job.ChatTemplate,
            TemplateArgs: job.TemplateArgs, DType: job.DType, LongPrompts: job.LongPrompts, Engine: job.Engine);
        var texts = GenerateStage.Answers(generate, items.Select(i => job.ChatTemplate
            ? new JsonObject { ["id"] = i.Id, ["messages"] = GenerateStage.UserTurn(suite.Prompt(i)) }
            : new JsonObject { ["id"] = i.Id, ["prompt"] = suite.Prompt(i) }), progress);

        var scores = items.Select(i => suite.Score(i, suite.Cut(texts[i.Id]))).ToList();
        AtomicFile.WriteAllText(Path.Combine(job.Output, "items.jsonl"), string.Concat(scores.Select(s => new JsonObject
        {
            ["task"] = s.Item.Task, ["index"] = s.Item.Index, ["target"] = s.Item.Target, ["response"] = s.Response, ["extracted"] = s.Extracted,
            ["strict_match"] = s.Strict, ["flexible_extract"] = s.Flexible,
        }.ToJsonString(JsonlAppender.RowOptions) + "\n")));
        var accuracy = new List<BbhAccuracy> { Accuracy("overall", scores) };
        accuracy.AddRange(scores.GroupBy(s => s.Item.Task).Select(g => Accuracy(g.Key, [.. g])));
        var results = ToJson(job, accuracy);
        results["few_shot_tasks"] = new JsonArray([.. tasks.Where(suite.FewShot).Select(t => (JsonNode?)t)]);
        AtomicFile.WriteAllText(Path.Combine(job.Output, "results.json"), results.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        AtomicFile.WriteAllText(Path.Combine(job.Output, "report.md"), Report(job, accuracy));
        return accuracy;
    }

    static BbhAccuracy Accuracy(string task, List<BbhScore> scores) =>
        new(task, scores.Count, scores.Count(s => s.Strict) / (double)scores.Count, scores.Count(s => s.Flexible) / (double)scores.Count);

    /// <summary>The results: overall (weighted by task size) and the mean of the task accuracies, then each task.</summary>
    public static JsonObject ToJson(BbhJob job, IReadOnlyList<BbhAccuracy> accuracy)
    {
        static JsonObject Part(BbhAccuracy a)
        {
            var (low, high) = a.FlexibleInterval;
            return new JsonObject
            {
                ["questions"] = a.Count, ["exact_match,strict-match"] = a.Strict, ["exact_match,flexible-extract"] = a.Flexible,
                ["flexible_extract_ci95"] = new JsonArray(low, high),
            };
        }
        var overall = Part(accuracy[0]);
        overall["task_mean,flexible-extract"] = accuracy.Skip(1).Average(a => a.Flexible);
        return new JsonObject
        {
            ["model"] = job.Model, ["overall"] = overall,
            ["tasks"] = new JsonObject(accuracy.Skip(1).Select(a => KeyValuePair.Create(a.Task, (JsonNode?)Part(a)))),
        };
    }

    static string Report(BbhJob job, IReadOnlyList<BbhAccuracy> accuracy)
    {
        static string Pct(double x) => (100 * x).ToString("F1", CultureInfo.InvariantCulture);
        var (low, high) = accuracy[0].FlexibleInterval;
        var md = new StringBuilder($"# BBH zero-shot: `{Path.GetFileName(job.Model)}`\n\n" +
            $"{accuracy[0].Count} questions in {accuracy.Count - 1} tasks. Exact match of the extracted answer: **{Pct(accuracy[0].Flexible)}%** " +
            $"[{Pct(low)}, {Pct(high)}] (weighted by task size; mean of the tasks {Pct(accuracy.Skip(1).Average(a => a.Flexible))}%); " +
            $"of the raw answer: {Pct(accuracy[0].Strict)}%.\n\n| task | questions | flexible-extract % | strict-match % |\n|---|---:|---:|---:|\n");
        foreach (var a in accuracy.Skip(1)) md.Append(CultureInfo.InvariantCulture, $"| {a.Task} | {a.Count} | {Pct(a.Flexible)} | {Pct(a.Strict)} |\n");
        return md.ToString();
    }
}
