using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SelfAlign.Data;
using SelfAlign.Evaluation;
using SelfAlign.Inference;
using SelfAlign.IO;
using SelfAlign.Modeling;
using SelfAlign.Text;
using ScalarType = TorchSharp.torch.ScalarType;

namespace SelfAlign.Pipeline;

/// <summary>A multiple-choice evaluation: the model's log-likelihood of each choice.</summary>
/// <param name="Model">The model folder.</param>
/// <param name="Data">Questions JSONL (see <see cref="MultipleChoice.Read"/>).</param>
/// <param name="Output">The output folder.</param>
/// <param name="Delimiter">What joins the context and a choice (lm-evaluation-harness: one space).</param>
/// <param name="Limit">The first this many questions (0: all).</param>
/// <param name="DType">Compute dtype; null: <see cref="ComputeDType.Fastest"/>.</param>
/// <param name="Overwrite">Start over in an output folder this command did not write.</param>
/// <param name="Engine">Inference servers that score the choices (the folder then supplies the tokenizer only; they must report prompt log-probabilities); null: local.</param>
public sealed record ChoiceJob(string Model, string Data, string Output, string Delimiter = " ", int Limit = 0, ScalarType? DType = null, bool Overwrite = false,
    Inference.Remote.RemoteEngineOptions? Engine = null);

/// <summary>Accuracy by raw and by length-normalized log-likelihood, overall and per category.</summary>
/// <param name="Name">The category, or "overall".</param>
/// <param name="Count">Questions.</param>
/// <param name="Acc">Share answered right by the most likely choice.</param>
/// <param name="AccNorm">Share answered right by the most likely choice per character.</param>
public sealed record ChoiceAccuracy(string Name, int Count, double Acc, double AccNorm)
{
    /// <summary>The Wilson 95% interval of <see cref="Acc"/>.</summary>
    public (double Low, double High) AccInterval => Proportion.Wilson(Acc, Count);
    /// <summary>The Wilson 95% interval of <see cref="AccNorm"/>.</summary>
    public (double Low, double High) AccNormInterval => Proportion.Wilson(AccNorm, Count);
}

/// <summary>
/// Runs a <see cref="ChoiceJob"/>: scores the questions in batches, appending each question's
/// log-likelihoods to <c>items.jsonl</c> as it goes (a stopped run resumes), then writes
/// <c>results.json</c> and <c>report.md</c>.
/// </summary>
public static class ChoiceStage
{
    /// <summary>Runs <paramref name="job"/>; returns the overall accuracy first, then each category's.</summary>
    public static List<ChoiceAccuracy> Run(ChoiceJob job, IStageProgress? progress = null)
    {
        progress ??= SilentProgress.Instance;
        if (job.Limit < 0) throw new InvalidSettingException("limit", $"must be >= 0 (0: all), got {job.Limit}");
        var items = MultipleChoice.Read(job.Data);
        if (job.Limit > 0) items = [.. items.Take(job.Limit)];
        Engines.Check(job.Model, job.Engine);
        OutputGuard.ClaimFolder(job.Output, "eval choice", [new("questions", job.Data), new("model", job.Model)], job.Overwrite);
        Directory.CreateDirectory(job.Output);
        RunManifest.WriteOrCheck(Path.Combine(job.Output, OutputGuard.FolderManifest), "eval choice", new JsonObject
        {
            ["model"] = job.Model, ["data"] = job.Data, ["data_sha256"] = RunManifest.FileSha256(job.Data), ["delimiter"] = job.Delimiter,
            ["limit"] = job.Limit, ["dtype"] = (job.DType ?? ComputeDType.Fastest).ToString(),
        }.WithEngine(job.Engine?.ManifestRecord()));

        using var appender = JsonlAppender.Open(Path.Combine(job.Output, "items.jsonl"));
        var scored = appender.Existing.ToDictionary(r => r.String("id"), r => r.Field("logprobs").EnumerateArray().Select(x => x.GetDouble()).ToArray());
        var todo = items.Where(it => !scored.ContainsKey(it.Id)).ToList();
        if (todo.Count > 0)
        {
            using var opened = Engines.Open(job.Model, job.Engine, new LoadOptions(job.DType), new LocalModelOptions());
            var model = opened.Engine;
            var task = progress.Begin("scoring choices", items.Sum(it => it.Choices.Count));
            task.Increment(items.Where(it => scored.ContainsKey(it.Id)).Sum(it => it.Choices.Count));
            foreach (var batch in todo.Chunk(32))
                foreach (var result in MultipleChoice.Score(model, batch, job.Delimiter, n => task.Increment(n)))
                {
                    appender.Append(new JsonObject
                    {
                        ["id"] = result.Item.Id, ["answer"] = result.Item.Answer, ["predicted"] = result.Predicted, ["predicted_norm"] = result.PredictedNormalized,
                        ["logprobs"] = new JsonArray([.. result.LogProbs.Select(lp => (JsonNode?)lp)]),
                    });
                    scored[result.Item.Id] = [.. result.LogProbs];
                }
        }
        var results = items.Select(it => new ChoiceResult(it, scored[it.Id])).ToList();
        var accuracy = new List<ChoiceAccuracy> { Accuracy("overall", results) };
        accuracy.AddRange(results.Where(r => r.Item.Category is not null).GroupBy(r => r.Item.Category!).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => Accuracy(g.Key, [.. g])));
        AtomicFile.WriteAllText(Path.Combine(job.Output, "results.json"), ToJson(job, accuracy).ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        AtomicFile.WriteAllText(Path.Combine(job.Output, "report.md"), Report(job, accuracy));
        return accuracy;
    }

    static ChoiceAccuracy Accuracy(string name, List<ChoiceResult> results) => new(name, results.Count,
        results.Count(r => r.Predicted == r.Item.Answer) / (double)results.Count, results.Count(r => r.PredictedNormalized == r.Item.Answer) / (double)results.Count);

    /// <summary>The accuracies with their Wilson 95% intervals as JSON.</summary>
    public static JsonObject ToJson(ChoiceJob job, IReadOnlyList<ChoiceAccuracy> accuracy)
    {
        JsonObject Entry(ChoiceAccuracy a)
        {
            var (accLow, accHigh) = a.AccInterval;
            var (normLow, normHigh) = a.AccNormInterval;
            return new JsonObject
            {
                ["questions"] = a.Count, ["acc"] = a.Acc, ["acc_ci95"] = new JsonArray(accLow, accHigh),
                ["acc_norm"] = a.AccNorm, ["acc_norm_ci95"] = new JsonArray(normLow, normHigh),
            };
        }
        return new JsonObject
        {
            ["model"] = job.Model, ["data"] = job.Data, ["overall"] = Entry(accuracy[0]),
            ["categories"] = new JsonObject(accuracy.Skip(1).Select(a => KeyValuePair.Create(a.Name, (JsonNode?)Entry(a)))),
        };
    }

    static string Report(ChoiceJob job, IReadOnlyList<ChoiceAccuracy> accuracy)
    {
        static string Pct(double rate, (double Low, double High) ci) =>
            string.Create(CultureInfo.InvariantCulture, $"{100 * rate:F1} [{100 * ci.Low:F1}, {100 * ci.High:F1}]");
        var md = new StringBuilder($"# Multiple choice: `{Path.GetFileName(job.Model)}` on `{Path.GetFileName(job.Data)}`\n\n" +
            "| part | questions | acc % [95% CI] | acc_norm % [95% CI] |\n|---|---:|---|---|\n");
        foreach (var a in accuracy) md.Append($"| {a.Name} | {a.Count} | {Pct(a.Acc, a.AccInterval)} | {Pct(a.AccNorm, a.AccNormInterval)} |\n");
        return md.ToString();
    }
}
