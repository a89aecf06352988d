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

/// <summary>An MT-Bench run: the policy answers, a judge model grades each answer 1 to 10.</summary>
/// <param name="Model">The policy's model folder.</param>
/// <param name="Data">A folder with FastChat's <c>question.jsonl</c>, <c>judge_prompts.jsonl</c> and <c>reference_answer_gpt-4.jsonl</c>.</param>
/// <param name="Output">The output folder.</param>
/// <param name="Judge">The judge's model folder; null: the policy judges.</param>
/// <param name="Turns">Turns answered and graded: 1, or 2 (the second turn sees the first).</param>
/// <param name="Limit">The first this many questions (0: all).</param>
/// <param name="MaxNewTokens">Most tokens per answer (FastChat: 1,024).</param>
/// <param name="JudgeMaxNewTokens">Most tokens per judgment (FastChat: 2,048).</param>
/// <param name="Seed">Sampling seed.</param>
/// <param name="DType">Compute dtype; null: <see cref="ComputeDType.Fastest"/>.</param>
/// <param name="TemplateArgs">Chat-template variables of the policy and the judge.</param>
/// <param name="Overwrite">Start over in an output folder this command did not write.</param>
/// <param name="Engine">Inference servers the policy answers on (and judges on, when it is its own judge); null: local.</param>
public sealed record MtBenchJob(string Model, string Data, string Output, string? Judge = null, int Turns = 2, int Limit = 0, int MaxNewTokens = 1024,
    int JudgeMaxNewTokens = 2048, ulong Seed = 0, ScalarType? DType = null, IReadOnlyDictionary<string, JsonElement>? TemplateArgs = null, bool Overwrite = false,
    Inference.Remote.RemoteEngineOptions? Engine = null)
{
    /// <summary>Throws <see cref="InvalidSettingException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        if (Turns is not (1 or 2)) throw new InvalidSettingException("turns", $"must be 1 or 2, got {Turns}");
        if (Limit < 0) throw new InvalidSettingException("limit", $"must be >= 0 (0: all), got {Limit}");
        if (MaxNewTokens < 1) throw new InvalidSettingException("max_new_tokens", $"must be at least 1, got {MaxNewTokens}");
        if (JudgeMaxNewTokens < 1) throw new InvalidSettingException("judge_max_new_tokens", $"must be at least 1, got {JudgeMaxNewTokens}");
    }
}

/// <summary>
/// Runs an <see cref="MtBenchJob"/> through the generate stage: each turn's answers (grouped by the
/// category's temperature, greedy at 0), then the judge's judgments (greedy), so every step is
/// resumable; writes <c>scores.jsonl</c>, <c>results.json</c> (mean rating overall, per turn and per
/// category) and <c>report.md</c>.
/// </summary>
public static class MtBenchStage
{
    /// <summary>Runs <paramref name="job"/> and returns every graded answer.</summary>
    public static List<MtBenchScore> Run(MtBenchJob job, IStageProgress? progress = null)
    {
        progress ??= SilentProgress.Instance;
        job.Validate();
        string questionsFile = Path.Combine(job.Data, "question.jsonl"), promptsFile = Path.Combine(job.Data, "judge_prompts.jsonl"),
            referencesFile = Path.Combine(job.Data, "reference_answer_gpt-4.jsonl");
        var questions = MtBench.Read(questionsFile, File.Exists(referencesFile) ? referencesFile : null);
        if (job.Limit > 0) questions = [.. questions.Take(job.Limit)];
        var prompts = MtBench.ReadPrompts(promptsFile);
        Inference.Engines.Check(job.Model, job.Engine);
        if (job.Judge is not null) ModelFolder.Check(job.Judge);
        OutputGuard.ClaimFolder(job.Output, "eval mtbench", [new("MT-Bench data", job.Data), new("model", job.Model), new("judge", job.Judge)], job.Overwrite);
        Directory.CreateDirectory(job.Output);
        RunManifest.WriteOrCheck(Path.Combine(job.Output, OutputGuard.FolderManifest), "eval mtbench", new JsonObject
        {
            ["model"] = job.Model, ["judge"] = job.Judge ?? job.Model, ["data"] = job.Data, ["questions_sha256"] = RunManifest.FileSha256(questionsFile),
            ["judge_prompts_sha256"] = RunManifest.FileSha256(promptsFile), ["turns"] = job.Turns, ["limit"] = job.Limit,
            ["max_new_tokens"] = job.MaxNewTokens, ["judge_max_new_tokens"] = job.JudgeMaxNewTokens, ["seed"] = job.Seed,
            ["dtype"] = (job.DType ?? ComputeDType.Fastest).ToString(),
        }.WithTemplateArgs(job.TemplateArgs).WithEngine(job.Engine?.ManifestRecord()));

        var answers = questions.ToDictionary(q => q.Id, _ => new List<string>());
        for (int turn = 1; turn <= job.Turns; turn++)
            foreach (var group in questions.GroupBy(q => MtBench.Temperature(q.Category)))
            {
                string tag = $"turn-{turn}-t{group.Key.ToString(CultureInfo.InvariantCulture)}";
                var rows = group.Select(q => (Id: $"q{q.Id}", Messages: Conversation(q, turn, answers[q.Id]))).ToList();
                var sampling = new SamplingOptions { Temperature = group.Key, MaxNewTokens = job.MaxNewTokens };
                foreach (var (id, text) in Generate(job, job.Model, rows, Path.Combine(job.Output, "answers", tag), sampling, progress))
                    answers[int.Parse(id[1..], CultureInfo.InvariantCulture)].Add(text);
            }

        var judgeRows = questions.SelectMany(q => Enumerable.Range(1, job.Turns).Select(turn =>
        {
            var (system, user) = MtBench.JudgeMessages(prompts, q, turn, answers[q.Id]);
            return (Id: $"q{q.Id}-t{turn}", Messages: new JsonArray(Message("system", system), Message("user", user)));
        })).ToList();
        var judgments = Generate(job, job.Judge ?? job.Model, judgeRows, Path.Combine(job.Output, "judgments"),
            new SamplingOptions { Temperature = 0, MaxNewTokens = job.JudgeMaxNewTokens }, progress).ToDictionary(x => x.Id, x => x.Text);

        var scores = new List<MtBenchScore>();
        var lines = new StringBuilder();
        foreach (var q in questions)
            for (int turn = 1; turn <= job.Turns; turn++)
            {
                string judgment = judgments[$"q{q.Id}-t{turn}"];
                var score = new MtBenchScore(q.Id, q.Category, turn, MtBench.Rating(judgment), answers[q.Id][turn - 1].Length);
                scores.Add(score);
                lines.Append(new JsonObject
                {
                    ["question_id"] = q.Id, ["category"] = q.Category, ["turn"] = turn, ["score"] = score.Rating ?? -1,
                    ["answer"] = answers[q.Id][turn - 1], ["judgment"] = judgment,
                }.ToJsonString(JsonlAppender.RowOptions)).Append('\n');
            }
        AtomicFile.WriteAllText(Path.Combine(job.Output, "scores.jsonl"), lines.ToString());
        AtomicFile.WriteAllText(Path.Combine(job.Output, "results.json"), ToJson(job, scores).ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        AtomicFile.WriteAllText(Path.Combine(job.Output, "report.md"), Report(job, scores));
        return scores;
    }

    /// <summary>The conversation the policy continues at <paramref name="turn"/>: earlier turns with its own answers.</summary>
    static JsonArray Conversation(MtBenchQuestion q, int turn, IReadOnlyList<string> answers)
    {
        var messages = new JsonArray();
        for (int k = 0; k < turn; k++)
        {
            messages.Add(Message("user", q.Turns[k]));
            if (k < turn - 1) messages.Add(Message("assistant", answers[k]));
        }
        return messages;
    }

    static JsonObject Message(string role, string content) => new() { ["role"] = role, ["content"] = content };

    /// <summary>One greedy or sampled completion per row, through the generate stage (resumable), in row order.</summary>
    static IEnumerable<(string Id, string Text)> Generate(MtBenchJob job, string model, List<(string Id, JsonArray Messages)> rows, string stem,
        SamplingOptions sampling, IStageProgress progress)
    {
        var generate = new GenerateJob(model, stem + ".prompts.jsonl", stem + ".jsonl", 1, sampling, job.Seed, TemplateArgs: job.TemplateArgs, DType: job.DType,
            Engine: model == job.Model ? job.Engine : null);
        var texts = GenerateStage.Answers(generate, rows.Select(r => new JsonObject { ["id"] = r.Id, ["messages"] = r.Messages.DeepClone() }), progress);
        return rows.Select(r => (r.Id, texts[r.Id]));
    }

    /// <summary>Mean ratings overall, per turn and per category, with failures counted.</summary>
    public static JsonObject ToJson(MtBenchJob job, IReadOnlyList<MtBenchScore> scores)
    {
        static JsonObject Mean(IEnumerable<MtBenchScore> part)
        {
            var p = MtBench.Summarize(part);
            return new JsonObject { ["mean"] = p.Mean, ["rated"] = p.Rated, ["failures"] = p.Failures, ["mean_answer_length"] = p.MeanAnswerLength };
        }
        return new JsonObject
        {
            ["model"] = job.Model, ["judge"] = job.Judge ?? job.Model, ["overall"] = Mean(scores),
            ["turns"] = new JsonObject(scores.GroupBy(s => s.Turn).Select(g => KeyValuePair.Create($"{g.Key}", (JsonNode?)Mean(g)))),
            ["categories"] = new JsonObject(scores.GroupBy(s => s.Category).OrderBy(g => g.Key, StringComparer.Ordinal)
                .Select(g => KeyValuePair.Create(g.Key, (JsonNode?)Mean(g)))),
        };
    }

    static string Report(MtBenchJob job, IReadOnlyList<MtBenchScore> scores)
    {
        static string Row(string name, IEnumerable<MtBenchScore> part)
        {
            var p = MtBench.Summarize(part);
            return string.Create(CultureInfo.InvariantCulture,
                $"| {name} | {(p.Mean is double m ? m.ToString("F2", CultureInfo.InvariantCulture) : "n/a")} | {p.Rated} | {p.Failures} | {p.MeanAnswerLength:F0} |\n");
        }
        var md = new StringBuilder($"# MT-Bench: `{Path.GetFileName(job.Model)}`\n\n" +
            $"Judge `{Path.GetFileName(job.Judge ?? job.Model)}` (single-answer grading, 1 to 10), {scores.Select(s => s.QuestionId).Distinct().Count()} questions, " +
            $"{job.Turns} turn(s).\n\n| part | mean rating | rated | no rating | mean answer length (chars) |\n|---|---:|---:|---:|---:|\n");
        md.Append(Row("**overall**", scores));
        foreach (var turn in scores.GroupBy(s => s.Turn)) md.Append(Row($"turn {turn.Key}", turn));
        foreach (var category in scores.GroupBy(s => s.Category).OrderBy(g => g.Key, StringComparer.Ordinal)) md.Append(Row(category.Key, category));
        return md.ToString();
    }
}
