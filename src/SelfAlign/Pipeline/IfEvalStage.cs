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

/// <summary>An IFEval run: a model answers the prompts (greedy), or given responses are scored.</summary>
/// <param name="Output">The output folder.</param>
/// <param name="Model">The policy's model folder; null with <paramref name="Responses"/>.</param>
/// <param name="Responses">JSONL of <c>prompt</c> + <c>response</c> (the reference's input) to score instead of generating.</param>
/// <param name="Data">IFEval input data; null: the shipped 541 prompts.</param>
/// <param name="Limit">The first this many prompts (0: all).</param>
/// <param name="MaxNewTokens">Most tokens per response (lm-evaluation-harness: 1,280).</param>
/// <param name="DType">Compute dtype; null: <see cref="ComputeDType.Fastest"/>.</param>
/// <param name="TemplateArgs">Chat-template variables.</param>
/// <param name="LongPrompts">What to do with a prompt longer than the model's context.</param>
/// <param name="Overwrite">Start over in an output folder this command did not write.</param>
/// <param name="Engine">Inference servers the model answers on (the folder then supplies the tokenizer only); null: local.</param>
public sealed record IfEvalJob(string Output, string? Model = null, string? Responses = null, string? Data = null, int Limit = 0, int MaxNewTokens = 1280,
    ScalarType? DType = null, IReadOnlyDictionary<string, JsonElement>? TemplateArgs = null, LongPromptPolicy LongPrompts = LongPromptPolicy.Refuse,
    bool Overwrite = false, Inference.Remote.RemoteEngineOptions? Engine = null)
{
    /// <summary>Throws <see cref="InvalidSettingException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        if ((Model is null) == (Responses is null)) throw new InvalidSettingException("model", "give a model to answer the prompts, or a responses file to score, not both");
        if (Responses is not null && Engine is not null) throw new InvalidSettingException("engine", "scores given responses: no model runs, here or on servers");
        if (Limit < 0) throw new InvalidSettingException("limit", $"must be >= 0 (0: all), got {Limit}");
        if (MaxNewTokens < 1) throw new InvalidSettingException("max_new_tokens", $"must be at least 1, got {MaxNewTokens}");
    }
}

/// <summary>
/// Runs an <see cref="IfEvalJob"/>: the responses come from the generate stage (resumable) or from
/// the given file; every prompt is judged strict and loose. Writes the reference's per-item files
/// <c>eval_results_strict.jsonl</c> and <c>eval_results_loose.jsonl</c>, <c>results.json</c> and <c>report.md</c>.
/// </summary>
public static class IfEvalStage
{
    /// <summary>The four accuracies under lm-evaluation-harness's names, in its order.</summary>
    public static readonly string[] MetricNames = ["prompt_level_strict_acc", "inst_level_strict_acc", "prompt_level_loose_acc", "inst_level_loose_acc"];

    /// <summary>Runs <paramref name="job"/> and returns its scores.</summary>
    public static IfEvalScores Run(IfEvalJob job, IStageProgress? progress = null)
    {
        progress ??= SilentProgress.Instance;
        job.Validate();
        string data = job.Data ?? IfEval.ShippedData;
        var items = IfEval.Read(data);
        if (job.Model is not null) Inference.Engines.Check(job.Model, job.Engine);
        var given = job.Responses is null ? null : ReadResponses(job.Responses, items);
        if (given is not null) items = [.. items.Where(i => given.ContainsKey(i.Prompt))];
        if (job.Limit > 0) items = [.. items.Take(job.Limit)];
        OutputGuard.ClaimFolder(job.Output, "eval ifeval", [new("IFEval data", data), new("model", job.Model), new("responses", job.Responses)], job.Overwrite);
        Directory.CreateDirectory(job.Output);
        RunManifest.WriteOrCheck(Path.Combine(job.Output, OutputGuard.FolderManifest), "eval ifeval", new JsonObject
        {
            ["model"] = job.Model, ["responses"] = job.Responses, ["data"] = job.Data ?? "shipped: data/ifeval/input_data.jsonl", ["data_sha256"] = RunManifest.FileSha256(data),
            ["responses_sha256"] = job.Responses is null ? null : RunManifest.FileSha256(job.Responses), ["limit"] = job.Limit,
            ["max_new_tokens"] = job.MaxNewTokens, ["decoding"] = "greedy", ["dtype"] = (job.DType ?? ComputeDType.Fastest).ToString(),
        }.WithTemplateArgs(job.TemplateArgs).WithEngine(job.Engine?.ManifestRecord()));

        var responses = given ?? Generate(job, items, progress);
        var bar = progress.Begin("checking instructions", items.Count);
        var strict = new List<IfEvalVerdict>();
        var loose = new List<IfEvalVerdict>();
        foreach (var item in items)
        {
            strict.Add(IfEval.Check(item, responses[item.Prompt], loose: false));
            loose.Add(IfEval.Check(item, responses[item.Prompt], loose: true));
            bar.Increment(1);
        }
        var scores = IfEval.Score(strict, loose);
        AtomicFile.WriteAllText(Path.Combine(job.Output, "eval_results_strict.jsonl"), Lines(strict));
        AtomicFile.WriteAllText(Path.Combine(job.Output, "eval_results_loose.jsonl"), Lines(loose));
        AtomicFile.WriteAllText(Path.Combine(job.Output, "results.json"), ToJson(job, scores).ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        AtomicFile.WriteAllText(Path.Combine(job.Output, "report.md"), Report(job, scores));
        return scores;
    }

    /// <summary>Each prompt's response from a <c>prompt</c> + <c>response</c> file; a prompt not in the data, or given twice, fails with file:line.</summary>
    static Dictionary<string, string> ReadResponses(string file, List<IfEvalItem> items)
    {
        var known = items.Select(i => i.Prompt).ToHashSet(StringComparer.Ordinal);
        var responses = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var row in Jsonl.Read(file))
        {
            string prompt = row.String("prompt");
            if (!known.Contains(prompt)) throw row.Error("'prompt' is not a prompt of the IFEval data");
            if (!responses.TryAdd(prompt, row.String("response"))) throw row.Error("'prompt' has a response on an earlier line");
        }
        return responses;
    }

    /// <summary>The policy's greedy response to each prompt, as a one-turn chat, through the generate stage.</summary>
    static Dictionary<string, string> Generate(IfEvalJob job, List<IfEvalItem> items, IStageProgress progress)
    {
        var generate = new GenerateJob(job.Model!, Path.Combine(job.Output, "responses.prompts.jsonl"), Path.Combine(job.Output, "responses.jsonl"), 1,
            new SamplingOptions { Temperature = 0, MaxNewTokens = job.MaxNewTokens }, 0, TemplateArgs: job.TemplateArgs, DType: job.DType,
            LongPrompts: job.LongPrompts, Engine: job.Engine);
        var texts = GenerateStage.Answers(generate, items.Select(i => new JsonObject
        {
            ["id"] = i.Key.ToString(CultureInfo.InvariantCulture), ["messages"] = GenerateStage.UserTurn(i.Prompt),
        }), progress);
        return items.ToDictionary(i => i.Prompt, i => texts[i.Key.ToString(CultureInfo.InvariantCulture)], StringComparer.Ordinal);
    }

    static string Lines(List<IfEvalVerdict> verdicts) => string.Concat(verdicts.Select(v => v.ToJson().ToJsonString(JsonlAppender.RowOptions) + "\n"));

    /// <summary>The four accuracies, their mean, the prompt-level intervals, and the accuracy per instruction type and per category.</summary>
    public static JsonObject ToJson(IfEvalJob job, IfEvalScores scores)
    {
        var (strictLow, strictHigh) = scores.Strict.PromptInterval;
        var (looseLow, looseHigh) = scores.Loose.PromptInterval;
        var values = Values(scores);
        var json = new JsonObject { ["model"] = job.Model, ["responses"] = job.Responses, ["prompts"] = scores.Strict.Prompts, ["instructions"] = scores.Strict.Instructions };
        for (int i = 0; i < MetricNames.Length; i++) json[MetricNames[i]] = values[i];
        json["mean"] = scores.Mean;
        json["prompt_level_strict_acc_ci95"] = new JsonArray(strictLow, strictHigh);
        json["prompt_level_loose_acc_ci95"] = new JsonArray(looseLow, looseHigh);
        json["instruction_types"] = new JsonObject(scores.PerInstruction.Select(p => KeyValuePair.Create(p.Key,
            (JsonNode?)new JsonObject { ["strict"] = p.Value.Strict, ["loose"] = p.Value.Loose, ["count"] = p.Value.Count })));
        json["categories"] = new JsonObject(Categories(scores).Select(c => KeyValuePair.Create(c.Name,
            (JsonNode?)new JsonObject { ["strict"] = c.Strict, ["loose"] = c.Loose, ["count"] = c.Count })));
        return json;
    }

    static double[] Values(IfEvalScores s) => [s.Strict.PromptLevel, s.Strict.InstructionLevel, s.Loose.PromptLevel, s.Loose.InstructionLevel];

    /// <summary>Instruction-level accuracy per category (the id's part before the colon).</summary>
    static IEnumerable<(string Name, double Strict, double Loose, int Count)> Categories(IfEvalScores scores) =>
        scores.PerInstruction.GroupBy(p => p.Key.Split(':')[0]).Select(g =>
        {
            int count = g.Sum(p => p.Value.Count);
            return (g.Key, g.Sum(p => p.Value.Strict * p.Value.Count) / count, g.Sum(p => p.Value.Loose * p.Value.Count) / count, count);
        });

    static string Report(IfEvalJob job, IfEvalScores scores)
    {
        static string Pct(double x) => (100 * x).ToString("F1", CultureInfo.InvariantCulture);
        var (strictLow, strictHigh) = scores.Strict.PromptInterval;
        var (looseLow, looseHigh) = scores.Loose.PromptInterval;
        var md = new StringBuilder($"# IFEval: `{Path.GetFileName(job.Model ?? job.Responses)}`\n\n" +
            $"{scores.Strict.Prompts} prompts, {scores.Strict.Instructions} instructions. Mean of the four accuracies: **{Pct(scores.Mean)}%**.\n\n" +
            "| accuracy | strict % | loose % |\n|---|---:|---:|\n" +
            $"| prompt level | {Pct(scores.Strict.PromptLevel)} [{Pct(strictLow)}, {Pct(strictHigh)}] | {Pct(scores.Loose.PromptLevel)} [{Pct(looseLow)}, {Pct(looseHigh)}] |\n" +
            $"| instruction level | {Pct(scores.Strict.InstructionLevel)} | {Pct(scores.Loose.InstructionLevel)} |\n\n" +
            "## Per instruction type\n\n| instruction | count | strict % | loose % |\n|---|---:|---:|---:|\n");
        foreach (var (id, (s, l, n)) in scores.PerInstruction) md.Append(CultureInfo.InvariantCulture, $"| {id} | {n} | {Pct(s)} | {Pct(l)} |\n");
        md.Append("\n## Per category\n\n| category | count | strict % | loose % |\n|---|---:|---:|---:|\n");
        foreach (var (name, s, l, n) in Categories(scores)) md.Append(CultureInfo.InvariantCulture, $"| {name} | {n} | {Pct(s)} | {Pct(l)} |\n");
        return md.ToString();
    }
}
