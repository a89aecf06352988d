using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using SelfAlign.Data;
using SelfAlign.IO;
using SelfAlign.Inference;
using SelfAlign.Inference.Remote;
using SelfAlign.Judging;
using SelfAlign.Modeling.Lora;
using SelfAlign.Modeling;
using SelfAlign.Text;
using ScalarType = TorchSharp.torch.ScalarType;

namespace SelfAlign.Pipeline;

/// <summary>Which judge scores the candidates.</summary>
public enum JudgeKind
{
    /// <summary>IPO: p(Yes) / (p(Yes) + p(No)) of each candidate.</summary>
    YesNo,
    /// <summary>Self-Rewarding: the mean of sampled 0-5 additive scores.</summary>
    Additive,
    /// <summary>PSO: every candidate pair compared in both orders.</summary>
    Pairwise,
    /// <summary>A rule-based verifier: 1 when the prompt's task check accepts the candidate, else 0 (the oracle).</summary>
    Verifier,
    /// <summary>An external program that reads candidates and writes scores.</summary>
    Command,
}

/// <summary>How candidates are judged.</summary>
/// <param name="Kind">The judge.</param>
/// <param name="Prompts">Yes/no prompt set: a built-in name (ipo-dpo, ipo-eval) or a JSON file.</param>
/// <param name="Format">Chat template or the IPO authors' plain layout.</param>
/// <param name="Category">The category whose yes/no prompt is used (chat, code, math, safety), or <c>auto</c>: the model categorizes each prompt itself.</param>
/// <param name="AdditiveSamples">Sampled judgments per candidate for the additive judge.</param>
/// <param name="Seed">Seed of sampled judgments.</param>
/// <param name="Tasks">For the verifier: the task file whose ids are the prompts' ids and whose checks decide.</param>
/// <param name="Command">For the command judge: the program and its arguments.</param>
public sealed record CandidateJudgeOptions(JudgeKind Kind = JudgeKind.YesNo, string Prompts = "ipo-dpo", JudgeFormat Format = JudgeFormat.Chat,
    string Category = Categories.Chat, int AdditiveSamples = 3, ulong Seed = 0, string? Tasks = null, IReadOnlyList<string>? Command = null)
{
    /// <summary>True when the model categorizes each prompt: the yes/no judge with the <c>auto</c> category.</summary>
    public bool Categorizes => Kind == JudgeKind.YesNo && Category == JudgeStage.AutoCategory;

    /// <summary>True for the judges that are programs rather than the model.</summary>
    public bool IsProgram => Kind is JudgeKind.Verifier or JudgeKind.Command;

    /// <summary>The program judge of these options (a verifier or a command); null for model judges.</summary>
    public IProgramJudge? ProgramJudge() => Kind switch
    {
        JudgeKind.Verifier => VerifierJudge.Load(Tasks ?? throw new InvalidSettingException("tasks", "the verifier judge needs a task file with checks")),
        JudgeKind.Command => new CommandJudge(Command is { Count: > 0 } c ? c : throw new InvalidSettingException("command", "the command judge needs a program to run")),
        _ => null,
    };
}

/// <summary>A judging run: the judge model (with an optional PEFT adapter merged in), the candidates and where judgments go.</summary>
/// <param name="Model">The judge model folder.</param>
/// <param name="Candidates">Candidates JSONL.</param>
/// <param name="Output">Judgments JSONL (appended to when resuming).</param>
/// <param name="Options">How to judge.</param>
/// <param name="DType">Compute dtype; null: <see cref="ComputeDType.Fastest"/>.</param>
/// <param name="BatchTokens">Most padded tokens per forward batch.</param>
/// <param name="Adapter">A PEFT adapter folder merged into the model, or null.</param>
/// <param name="Overwrite">Replace an output this command did not write (or start its own over).</param>
/// <param name="CategoryModel">With the <c>auto</c> category, the model folder that categorizes the prompts; null: the judge model.</param>
/// <param name="TemplateArgs">Chat-template variables (e.g. enable_thinking), the same the candidates were sampled with.</param>
/// <param name="Engine">Inference servers to judge on instead of loading the weights here (the model folder then supplies the tokenizer only); null: local.</param>
/// <param name="CategoryEngine">With <paramref name="Engine"/> and a separate <paramref name="CategoryModel"/>: the servers' name for that model.</param>
public sealed record JudgeJob(string Model, string Candidates, string Output, CandidateJudgeOptions Options,
    ScalarType? DType = null, int BatchTokens = 4096, string? Adapter = null, bool Overwrite = false, string? CategoryModel = null,
    IReadOnlyDictionary<string, JsonElement>? TemplateArgs = null, RemoteEngineOptions? Engine = null, RemoteEngineOptions? CategoryEngine = null);

/// <summary>
/// Judges the candidates of each prompt with the model itself and appends one JSONL row per
/// judgment: per candidate for the pointwise judges (<c>prompt_id</c>, <c>sample</c>,
/// <c>score</c>, ...), per candidate pair for the pairwise one (<c>prompt_id</c>, <c>first</c>,
/// <c>second</c>, <c>preference</c> = p(first better), ...). Work goes in chunks of prompts, each
/// written as it finishes, so a killed run resumes with the judgments still missing.
/// </summary>
public static class JudgeStage
{
    const int ChunkPrompts = 16;

    /// <summary>The <see cref="CandidateJudgeOptions.Category"/> that has the model categorize each prompt.</summary>
    public const string AutoCategory = "auto";

    /// <summary>Runs <paramref name="job"/>; returns the number of new judgment rows.</summary>
    public static int Run(JudgeJob job, IStageProgress? progress = null)
    {
        progress ??= SilentProgress.Instance;
        var o = job.Options;
        if (o.Category != AutoCategory && Categories.Normalize(o.Category) is null)
            throw new InvalidSettingException("category", $"must be {string.Join(", ", Categories.All)} or {AutoCategory}, got '{o.Category}'");
        if (o.AdditiveSamples < 1) throw new InvalidSettingException("additive_samples", $"must be at least 1, got {o.AdditiveSamples}");
        if (job.BatchTokens < 1) throw new InvalidSettingException("batch_tokens", $"must be at least 1, got {job.BatchTokens}");
        var prompts = JudgePromptSet.Get(o.Prompts);
        var groups = Candidates.Read(job.Candidates);
        var program = o.ProgramJudge();
        if (program is VerifierJudge verifier && verifier.Missing(groups.Select(g => g.PromptId)) is string missing)
            throw new DataFormatException(job.Candidates, groups.First(g => g.PromptId == missing).Samples[0].Line, $"prompt '{missing}' has no task in {o.Tasks}");
        if (job.Engine is not null && (job.Adapter is not null || (job.CategoryModel is { } c && c != job.Model && job.CategoryEngine is null)))
            throw new InvalidSettingException("engine", "on servers, a separate categorizer needs its served name too, and adapters are loaded on the server");
        using var remote = program is null && job.Engine is not null ? new RemoteLanguageModel(Tokenizer.Load(job.Model), job.Engine, job.TemplateArgs) : null;
        if (program is null)
            CheckLengths(job, Tokenizer.Load(job.Model), groups, remote?.MaxSequenceLength ?? ModelFolder.Check(job.Model).MaxPositionEmbeddings);
        OutputGuard.ClaimFile(job.Output, "judge", [new("candidates file", job.Candidates), new("model", program is null ? job.Model : null), new("adapter", job.Adapter),
            new("prompt set", File.Exists(o.Prompts) ? o.Prompts : null), new("task file", o.Tasks)], job.Overwrite);
        RunManifest.WriteOrCheck(OutputGuard.ManifestOf(job.Output), "judge", Config(job, prompts).WithTemplateArgs(job.TemplateArgs)
            .WithEngine(program is null ? job.Engine?.ManifestRecord() : null));
        using var output = JsonlAppender.Open(job.Output);
        var done = output.Existing.Select(Key).ToHashSet();
        var pending = groups.Select(g => (g.PromptId, Work: Units(g.Samples, o.Kind).Where(u => !done.Contains(u.Key)).ToList()))
            .Where(g => g.Work.Count > 0).ToList();
        int total = pending.Sum(p => p.Work.Count);
        if (total == 0) return 0;
        if (done.Count > 0) progress.Note($"Resuming: {done.Count} judgments already written, {total} to go.");

        if (o.Kind == JudgeKind.YesNo && prompts.MissingCategories is { Count: > 0 } missingPrompts)
            progress.Note($"warning: prompt set '{prompts.Name}' has no prompt for {string.Join(", ", missingPrompts)}; prompts of those categories get its chat prompt.");
        var task = progress.Begin($"judging ({o.Kind})", total);
        var clock = Stopwatch.StartNew();
        int finished = 0;
        if (program is not null)
        {
            foreach (var chunk in pending.Chunk(ChunkPrompts))
            {
                var units = chunk.SelectMany(c => c.Work).ToList();
                var scores = program.Score(units.Select(u => new ProgramItem(u.First.PromptId, u.First.Sample, u.First.Instruction, u.First.Text)).ToArray());
                for (int i = 0; i < units.Count; i++)
                    output.Append(new JsonObject { ["prompt_id"] = units[i].First.PromptId, ["sample"] = units[i].First.Sample, ["judge"] = program.Name, ["score"] = scores[i] });
                task.Increment(units.Count);
            }
            return total;
        }
        var firsts = pending.Select(p => p.Work[0].First).ToList();
        bool ownCategorizer = o.Categorizes && job.CategoryModel is { } other && (other != job.Model || job.Adapter is not null);
        // A separate categorizer runs first, so the two models are never in memory together.
        Func<string, string>? categoryOf = null;
        if (ownCategorizer)
        {
            using var categorizer = job.CategoryEngine is null ? null : new RemoteLanguageModel(Tokenizer.Load(job.CategoryModel!), job.CategoryEngine, job.TemplateArgs);
            categoryOf = WithEngine(job.CategoryModel!, null, job, categorizer, e => CategoriesOf(e, firsts, o));
        }
        return WithEngine(job.Model, job.Adapter, job, remote, engine =>
        {
            categoryOf ??= CategoriesOf(engine, firsts, o);
            // Small runs judge fewer prompts at a time so the bar moves; large ones keep the batches full.
            foreach (var chunk in pending.Chunk(Math.Clamp(pending.Count / 20, 1, ChunkPrompts)))
            {
                var units = chunk.SelectMany(c => c.Work).ToList();
                foreach (var row in Judge(engine, units, o, prompts, categoryOf)) output.Append(row);
                finished += units.Count;
                task.Increment(units.Count);
                task.Describe($"judging ({o.Kind}) {finished / clock.Elapsed.TotalSeconds:F2}/s{(remote is null ? "" : $" [{remote.Pool.Summary()}]")}");
            }
            if (remote?.ApproximatedLabels is > 0 and var approximated)
                progress.Note($"warning: {approximated} label log-probabilities were outside the servers' top {ServerDialect.TopN} and bounded by the last listed; " +
                    "the scores are ordered, not calibrated (docs/scale-out.md)");
            return total;
        });
    }

    static T WithEngine<T>(string folder, string? adapter, JudgeJob job, RemoteLanguageModel? remote, Func<ILanguageModel, T> use)
    {
        if (remote is not null) return use(remote);
        using var model = ModelFolder.Load(folder, new LoadOptions(job.DType, Adapter: adapter));
        return use(new LocalLanguageModel(model, Tokenizer.Load(folder), new LocalModelOptions { MaxBatchTokens = job.BatchTokens, TemplateVariables = job.TemplateArgs }));
    }

    /// <summary>
    /// Refuses, before anything is written or loaded, a judgment whose instruction and response(s)
    /// alone exceed the model's positions, naming the longest candidate's line (the judge's own
    /// prompt adds more; an input that overflows only with it stops at the engine's length check).
    /// </summary>
    static void CheckLengths(JudgeJob job, Tokenizer tokenizer, IEnumerable<(string PromptId, List<Candidate> Samples)> groups, int positions)
    {
        foreach (var (_, samples) in groups)
        {
            var byLength = samples.Select(c => (Candidate: c, Tokens: tokenizer.Encode(c.Text).Count)).OrderByDescending(x => x.Tokens).ToList();
            // A pairwise judgment shows two responses: the worst case is the two longest.
            int responses = job.Options.Kind == JudgeKind.Pairwise ? byLength.Take(2).Sum(x => x.Tokens) : byLength[0].Tokens;
            int total = tokenizer.Encode(samples[0].Instruction).Count + responses;
            if (total > positions)
                throw new DataFormatException(job.Candidates, byLength[0].Candidate.Line,
                    $"the instruction and response{(job.Options.Kind == JudgeKind.Pairwise ? "s compared" : "")} are {total} tokens, more than the model's {positions} positions; shorten or remove this row");
        }
    }

    /// <summary>One judgment to make: a candidate, or an ordered pair of candidates.</summary>
    sealed record Unit(string Key, Candidate First, Candidate? Second);

    static IEnumerable<Unit> Units(List<Candidate> samples, JudgeKind kind)
    {
        if (kind != JudgeKind.Pairwise)
        {
            foreach (var c in samples) yield return new Unit($"{c.PromptId}\u0000{c.Sample}", c, null);
            yield break;
        }
        for (int i = 0; i < samples.Count; i++)
            for (int j = i + 1; j < samples.Count; j++)
                yield return new Unit($"{samples[i].PromptId}\u0000{samples[i].Sample}\u0000{samples[j].Sample}", samples[i], samples[j]);
    }

    static string Key(JsonRow row) => row.Has("second")
        ? $"{row.String("prompt_id")}\u0000{row.Int("first")}\u0000{row.Int("second")}"
        : $"{row.String("prompt_id")}\u0000{row.Int("sample")}";

    /// <summary>Each prompt's category: the configured one, or (with <c>auto</c>, for the yes/no judge, the only one that uses it) the guess of <paramref name="engine"/>.</summary>
    static Func<string, string> CategoriesOf(ILanguageModel engine, List<Candidate> firsts, CandidateJudgeOptions o)
    {
        if (o.Category != AutoCategory) return _ => Categories.Normalize(o.Category)!;
        if (o.Kind != JudgeKind.YesNo) return _ => Categories.Chat;
        var guesses = new Categorizer(engine, o.Format).Categorize(firsts.Select(c => c.Instruction).ToArray());
        var byPrompt = firsts.Select((c, i) => (c.PromptId, guesses[i].Category)).ToDictionary();
        return id => byPrompt[id];
    }

    static IEnumerable<JsonObject> Judge(ILanguageModel engine, List<Unit> units, CandidateJudgeOptions o, JudgePromptSet prompts, Func<string, string> categoryOf)
    {
        JudgeItem Item(Candidate c) => new(c.Instruction, c.Text, categoryOf(c.PromptId));
        switch (o.Kind)
        {
            case JudgeKind.YesNo:
                var yesNo = new YesNoJudge(engine, new YesNoOptions(prompts, o.Format)).Score(units.Select(u => Item(u.First)).ToArray());
                return units.Select((u, i) => new JsonObject
                {
                    ["prompt_id"] = u.First.PromptId, ["sample"] = u.First.Sample, ["judge"] = "yesno", ["category"] = categoryOf(u.First.PromptId),
                    ["score"] = yesNo[i].Score, ["p_yes"] = yesNo[i].PYes, ["p_no"] = yesNo[i].PNo,
                });
            case JudgeKind.Additive:
                var additive = new AdditiveJudge(engine, new AdditiveOptions(o.AdditiveSamples, Seed: o.Seed)).Score(units.Select(u => Item(u.First)).ToArray());
                return units.Select((u, i) => new JsonObject
                {
                    ["prompt_id"] = u.First.PromptId, ["sample"] = u.First.Sample, ["judge"] = "additive",
                    ["score"] = additive[i].Mean, ["scores"] = new JsonArray(additive[i].Scores.Select(s => (JsonNode?)s).ToArray()),
                    ["format_failures"] = additive[i].Failures, ["judgments"] = new JsonArray(additive[i].Judgments.Select(t => (JsonNode?)t).ToArray()),
                });
            default:
                var pairwise = new PairwiseJudge(engine, o.Format).Compare(units.Select(u => new PairwiseItem(u.First.Instruction, u.First.Text, u.Second!.Text)).ToArray());
                return units.Select((u, i) => new JsonObject
                {
                    ["prompt_id"] = u.First.PromptId, ["first"] = u.First.Sample, ["second"] = u.Second!.Sample, ["judge"] = "pairwise",
                    ["preference"] = pairwise[i].Preference, ["first_as_a"] = pairwise[i].FirstAsA, ["first_as_b"] = pairwise[i].FirstAsB,
                });
        }
    }

    /// <summary>The job as its manifest records it.</summary>
    public static JsonObject Config(JudgeJob job, JudgePromptSet prompts) => job.Options.IsProgram ? new()
    {
        ["candidates"] = job.Candidates,
        ["candidates_sha256"] = RunManifest.FileSha256(job.Candidates),
        ["judge"] = job.Options.Kind.ToString().ToLowerInvariant(),
        ["tasks"] = job.Options.Tasks,
        ["tasks_sha256"] = job.Options.Tasks is null ? null : RunManifest.FileSha256(job.Options.Tasks),
        ["command"] = job.Options.Command is null ? null : new JsonArray(job.Options.Command.Select(a => (JsonNode?)a).ToArray()),
    } : new()
    {
        ["model"] = job.Model,
        ["adapter"] = PeftAdapter.ManifestRecord(job.Adapter),
        ["candidates"] = job.Candidates,
        ["candidates_sha256"] = RunManifest.FileSha256(job.Candidates),
        ["judge"] = job.Options.Kind.ToString().ToLowerInvariant(),
        ["prompts"] = prompts.Name,
        ["prompt"] = job.Options.Kind == JudgeKind.YesNo && job.Options.Category != AutoCategory ? prompts.For(Categories.Normalize(job.Options.Category)!, null) : null,
        ["format"] = job.Options.Format.ToString().ToLowerInvariant(),
        ["category"] = job.Options.Category,
        ["category_model"] = job.Options.Categorizes ? job.CategoryModel : null,
        ["additive_samples"] = job.Options.Kind == JudgeKind.Additive ? job.Options.AdditiveSamples : null,
        ["seed"] = job.Options.Seed,
        ["dtype"] = (job.DType ?? ComputeDType.Fastest).ToString(),
    };
}
