using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SelfAlign.Data;
using SelfAlign.Evaluation;
using SelfAlign.Inference;
using SelfAlign.IO;
using SelfAlign.Judging;
using SelfAlign.Modeling;
using SelfAlign.Text;
using ScalarType = TorchSharp.torch.ScalarType;

namespace SelfAlign.Pipeline;

/// <summary>A head-to-head evaluation: policy A against policy B (or reference responses), judged pairwise in both orders.</summary>
/// <param name="Model">Policy A's model folder.</param>
/// <param name="Prompts">The prompts (a prompt file).</param>
/// <param name="Output">The output folder.</param>
/// <param name="Against">Policy B's model folder, or null with <paramref name="ReferenceField"/>.</param>
/// <param name="ReferenceField">A field of each prompt row holding B's response (e.g. AlpacaEval's reference output), or null.</param>
/// <param name="Judge">The judge's model folder; null: A judges.</param>
/// <param name="Sampling">How both policies answer (greedy by default).</param>
/// <param name="Seed">Sampling seed.</param>
/// <param name="Limit">The first this many prompts (0: all).</param>
/// <param name="DType">Compute dtype; null: <see cref="ComputeDType.Fastest"/>.</param>
/// <param name="TemplateArgs">Chat-template variables of the policies and the judge.</param>
/// <param name="Format">The judge's layout.</param>
/// <param name="Overwrite">Start over in an output folder this command did not write.</param>
/// <param name="Engine">Inference servers policy A answers on (and judges on, when it is the judge); null: local.</param>
/// <param name="PromptField">A field of each row holding the prompt text, read instead of <c>prompt</c> or <c>messages</c> (e.g. AlpacaEval's <c>instruction</c>).</param>
public sealed record WinRateJob(string Model, string Prompts, string Output, string? Against = null, string? ReferenceField = null, string? Judge = null,
    SamplingOptions? Sampling = null, ulong Seed = 0, int Limit = 0, ScalarType? DType = null, IReadOnlyDictionary<string, JsonElement>? TemplateArgs = null,
    JudgeFormat Format = JudgeFormat.Chat, bool Overwrite = false, string? PromptField = null, Inference.Remote.RemoteEngineOptions? Engine = null)
{
    /// <summary>The sampling in effect.</summary>
    public SamplingOptions EffectiveSampling => Sampling ?? new SamplingOptions { Temperature = 0, MaxNewTokens = 512 };

    /// <summary>Throws <see cref="InvalidSettingException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        EffectiveSampling.Validate();
        if ((Against is null) == (ReferenceField is null)) throw new InvalidSettingException("against", "and the reference field: exactly one of them names policy B");
        if (Limit < 0) throw new InvalidSettingException("limit", $"must be >= 0 (0: all), got {Limit}");
    }
}

/// <summary>
/// Runs a <see cref="WinRateJob"/>: both policies answer every prompt (one response each), the
/// judge compares each pair with the PSO pairwise prompt in both orders, and a comparison counts
/// as a win or loss only when both orders agree (a disagreement is a tie). Every step appends as it
/// goes, so a stopped run resumes; the folder holds <c>responses-a.jsonl</c>, <c>responses-b.jsonl</c>
/// (unless B is the reference field), <c>judgments.jsonl</c>, <c>results.json</c> and <c>report.md</c>.
/// </summary>
public static class WinRateStage
{
    /// <summary>Runs <paramref name="job"/> and returns the counts.</summary>
    public static HeadToHead Run(WinRateJob job, IStageProgress? progress = null)
    {
        progress ??= SilentProgress.Instance;
        job.Validate();
        var read = ReadPrompts(job);
        if (job.Limit > 0) read = [.. read.Take(job.Limit)];
        var rows = read.Select(r => r.Row).ToList();
        var references = job.ReferenceField is { } field ? References(job.Prompts, rows, field) : null;
        Inference.Engines.Check(job.Model, job.Engine);
        foreach (string model in new[] { job.Against, job.Judge }.OfType<string>()) ModelFolder.Check(model);
        OutputGuard.ClaimFolder(job.Output, "eval winrate", [new("prompts", job.Prompts), new("model", job.Model), new("model B", job.Against), new("judge", job.Judge)],
            job.Overwrite);
        Directory.CreateDirectory(job.Output);
        RunManifest.WriteOrCheck(Path.Combine(job.Output, OutputGuard.FolderManifest), "eval winrate", new JsonObject
        {
            ["model"] = job.Model, ["against"] = job.Against, ["reference_field"] = job.ReferenceField, ["judge"] = job.Judge ?? job.Model,
            ["prompts"] = job.Prompts, ["prompts_sha256"] = RunManifest.FileSha256(job.Prompts), ["prompt_field"] = job.PromptField, ["limit"] = job.Limit,
            ["sampling"] = JsonSerializer.SerializeToNode(job.EffectiveSampling), ["seed"] = job.Seed, ["format"] = job.Format.ToString(),
            ["dtype"] = (job.DType ?? ComputeDType.Fastest).ToString(),
        }.WithTemplateArgs(job.TemplateArgs).WithEngine(job.Engine?.ManifestRecord()));

        string prompts = Path.Combine(job.Output, "prompts.jsonl");
        AtomicFile.WriteAllText(prompts, string.Concat(read.Select(r => r.Line + "\n")));
        var a = Respond(job, job.Model, prompts, "responses-a.jsonl", progress);
        var b = references ?? Respond(job, job.Against!, prompts, "responses-b.jsonl", progress);

        var outcomes = Judge(job, rows, a, b, progress);
        var result = HeadToHead.Of(outcomes);
        AtomicFile.WriteAllText(Path.Combine(job.Output, "results.json"), ToJson(job, result).ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        AtomicFile.WriteAllText(Path.Combine(job.Output, "report.md"), Report(job, result));
        return result;
    }

    /// <summary>The prompts with the line each is written as into the run's prompt file (the row itself, or <c>id</c> and <c>prompt</c> from the prompt field).</summary>
    static List<(PromptRow Row, string Line)> ReadPrompts(WinRateJob job)
    {
        if (job.PromptField is not { } field)
        {
            var lines = File.ReadAllLines(job.Prompts);
            return [.. PromptFile.Read(job.Prompts).Select(r => (r, lines[r.Line - 1]))];
        }
        var seen = new Dictionary<string, int>();
        var read = new List<(PromptRow, string)>();
        foreach (var row in Jsonl.Read(job.Prompts))
        {
            string id = RowFields.Id(row.Element, job.Prompts, row.Line), text = row.String(field);
            RowFields.Unique(seen, id, job.Prompts, row.Line);
            if (text.Length == 0) throw row.Error($"'{field}' is empty");
            read.Add((new PromptRow(id, text, null, row.Line), new JsonObject { ["id"] = id, ["prompt"] = text }.ToJsonString(JsonlAppender.RowOptions)));
        }
        if (read.Count == 0) throw new DataFormatException(job.Prompts, 1, "no prompts");
        return read;
    }

    /// <summary>Each prompt's reference response, from the named field of its row.</summary>
    static Dictionary<string, Candidate> References(string file, List<PromptRow> rows, string field)
    {
        var byLine = Jsonl.Read(file).ToDictionary(r => r.Line);
        return rows.ToDictionary(r => r.Id, r => new Candidate(r.Id, 0, r.Text is { } text ? JsonSerializer.SerializeToElement(text) : r.Messages!.Value,
            byLine[r.Line].String(field), r.Line));
    }

    /// <summary>One response per prompt from <paramref name="model"/>, by prompt id.</summary>
    static Dictionary<string, Candidate> Respond(WinRateJob job, string model, string prompts, string file, IStageProgress progress)
    {
        string output = Path.Combine(job.Output, file);
        GenerateStage.Run(new GenerateJob(model, prompts, output, 1, job.EffectiveSampling, job.Seed, TemplateArgs: job.TemplateArgs, DType: job.DType,
            Engine: model == job.Model ? job.Engine : null), progress);
        return Candidates.Read(output).ToDictionary(g => g.PromptId, g => g.Samples[0]);
    }

    /// <summary>Judges every prompt's pair not judged yet, appending as it goes; returns every prompt's verdict and lengths.</summary>
    static List<(Verdict, double, int, int)> Judge(WinRateJob job, List<PromptRow> rows, Dictionary<string, Candidate> a, Dictionary<string, Candidate> b, IStageProgress progress)
    {
        using var appender = JsonlAppender.Open(Path.Combine(job.Output, "judgments.jsonl"));
        var done = appender.Existing.ToDictionary(r => r.String("prompt_id"),
            r => ((Verdict)r.Int("verdict"), (r.Number("a_first_preference") + r.Number("a_second_preference")) / 2));
        var todo = rows.Where(r => !done.ContainsKey(r.Id)).ToList();
        if (todo.Count > 0)
        {
            string folder = job.Judge ?? job.Model;
            using var opened = Engines.Open(folder, folder == job.Model ? job.Engine : null, new LoadOptions(job.DType), new LocalModelOptions { TemplateVariables = job.TemplateArgs });
            var judge = new PairwiseJudge(opened.Engine, job.Format);
            var task = progress.Begin("judging head to head", rows.Count);
            task.Increment(done.Count);
            foreach (var chunk in todo.Chunk(16))
            {
                var scores = judge.Compare([.. chunk.Select(r => new PairwiseItem(a[r.Id].Instruction, a[r.Id].Text, b[r.Id].Text))]);
                foreach (var (row, score) in chunk.Zip(scores))
                {
                    // Kept as written, so a resumed run computes from the very numbers a straight one does.
                    double first = Math.Round(score.FirstAsA, 6), second = Math.Round(score.FirstAsB, 6);
                    var verdict = HeadToHead.VerdictOf(score with { FirstAsA = first, FirstAsB = second });
                    appender.Append(new JsonObject
                    {
                        ["prompt_id"] = row.Id, ["verdict"] = (int)verdict, ["a_first_preference"] = first, ["a_second_preference"] = second,
                        ["length_a"] = a[row.Id].Text.Length, ["length_b"] = b[row.Id].Text.Length,
                    });
                    done[row.Id] = (verdict, (first + second) / 2);
                }
                task.Increment(chunk.Length);
            }
        }
        return [.. rows.Select(r => (done[r.Id].Item1, done[r.Id].Item2, a[r.Id].Text.Length, b[r.Id].Text.Length))];
    }

    /// <summary>The counts, shares with their intervals, and lengths as JSON.</summary>
    public static JsonObject ToJson(WinRateJob job, HeadToHead h)
    {
        JsonObject Share(int count)
        {
            var (rate, low, high) = h.Share(count);
            return new JsonObject { ["count"] = count, ["rate"] = rate, ["ci95"] = new JsonArray(low, high) };
        }
        var (winLow, winHigh) = h.WinRateInterval;
        return new JsonObject
        {
            ["model"] = job.Model, ["against"] = job.Against ?? $"reference field '{job.ReferenceField}'", ["judge"] = job.Judge ?? job.Model,
            ["comparisons"] = h.Count, ["win"] = Share(h.Wins), ["tie"] = Share(h.Ties), ["loss"] = Share(h.Losses),
            ["win_rate"] = h.WinRate, ["win_rate_ci95"] = new JsonArray(winLow, winHigh),
            ["mean_preference"] = h.MeanPreference, ["length_controlled_win_rate"] = double.IsNaN(h.LengthControlled) ? null : h.LengthControlled,
            ["length_controlled_suspect"] = h.LengthControlledSuspect,
            ["mean_length_a"] = h.MeanLengthA, ["mean_length_b"] = h.MeanLengthB,
        };
    }

    static string Report(WinRateJob job, HeadToHead h)
    {
        string Pct(double x) => (100 * x).ToString("F1");
        string Row(string name, int count)
        {
            var (rate, low, high) = h.Share(count);
            return $"| {name} | {count} | {Pct(rate)} [{Pct(low)}, {Pct(high)}] |\n";
        }
        var (winLow, winHigh) = h.WinRateInterval;
        return new StringBuilder()
            .Append($"# Head to head: `{Path.GetFileName(job.Model)}` against {(job.Against is { } b ? $"`{Path.GetFileName(b)}`" : $"the reference field `{job.ReferenceField}`")}\n\n")
            .Append($"Judge `{Path.GetFileName(job.Judge ?? job.Model)}` (pairwise, both orders; a disagreement is a tie), {h.Count} prompts.\n\n")
            .Append("| outcome for A | prompts | % [95% CI] |\n|---|---:|---|\n")
            .Append(Row("win", h.Wins)).Append(Row("tie", h.Ties)).Append(Row("loss", h.Losses))
            .Append($"\nWin rate (ties half): **{Pct(h.WinRate)}%** [{Pct(winLow)}, {Pct(winHigh)}]. ")
            .Append($"Mean preference for A (AlpacaEval 2's weighted win rate): {Pct(h.MeanPreference)}%; length-controlled: {Pct(h.LengthControlled)}%. ")
            .Append($"Mean length: A {h.MeanLengthA:F0} characters, B {h.MeanLengthB:F0}.\n")
            .Append(h.LengthControlledSuspect ? "\n**The length-controlled rate is far from the raw one: the fit is likely extrapolating (e.g. every answer of A shorter than B's); do not read it.**\n" : "")
            .ToString();
    }
}
