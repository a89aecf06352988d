using System.Diagnostics;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using SelfAlign.Data;
using SelfAlign.Inference;
using SelfAlign.Text;

namespace SelfAlign.Pipeline;

/// <summary>Settings of self-instruction creation.</summary>
/// <param name="Count">New prompts to write in all (a resumed run counts those already written).</param>
/// <param name="Seed">Seed of the demonstrations drawn and of the sampling.</param>
/// <param name="Sampling">How the continuation is drawn (the Self-Rewarding paper: T 0.6, top-p 0.9).</param>
/// <param name="SeedShots">Demonstrations drawn from the seed prompts per request (the paper: 6).</param>
/// <param name="GeneratedShots">Demonstrations drawn from the prompts made so far (the paper: 2; seed ones stand in until there are enough).</param>
/// <param name="MaxSimilarity">A new prompt whose ROUGE-L with any prompt of the pool exceeds this is dropped (Self-Instruct: 0.7).</param>
/// <param name="BatchRows">Requests sampled together per round.</param>
/// <param name="MaxRounds">Rounds to try before giving up on reaching <paramref name="Count"/> (a model that writes nothing usable would loop forever).</param>
/// <param name="IdPrefix">The start of each new prompt's id.</param>
public sealed record SelfInstructOptions(int Count, ulong Seed = 0, SamplingOptions? Sampling = null, int SeedShots = 6, int GeneratedShots = 2,
    double MaxSimilarity = 0.7, int BatchRows = 16, int? MaxRounds = null, string IdPrefix = "self-instruct")
{
    /// <summary>The sampling in effect.</summary>
    public SamplingOptions EffectiveSampling => Sampling ?? new SamplingOptions { Temperature = 0.6, TopP = 0.9, MaxNewTokens = 256 };

    /// <summary>Throws <see cref="InvalidSettingException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        EffectiveSampling.Validate();
        if (Count < 1) throw new InvalidSettingException("count", $"must be at least 1, got {Count}");
        if (SeedShots < 1) throw new InvalidSettingException("seed_shots", $"must be at least 1, got {SeedShots}");
        if (GeneratedShots < 0) throw new InvalidSettingException("generated_shots", $"must be >= 0, got {GeneratedShots}");
        if (!(MaxSimilarity is > 0 and <= 1)) throw new InvalidSettingException("max_similarity", $"must be in (0, 1], got {MaxSimilarity}");
        if (BatchRows < 1) throw new InvalidSettingException("batch_size", $"must be at least 1, got {BatchRows}");
    }
}

/// <summary>What a self-instruction run did.</summary>
/// <param name="Written">Prompts this run wrote.</param>
/// <param name="Total">Prompts in the output now.</param>
/// <param name="Candidates">Instructions parsed from this run's continuations.</param>
/// <param name="Rejected">Those dropped, by reason.</param>
/// <param name="Seconds">Wall time.</param>
public sealed record SelfInstructSummary(int Written, int Total, int Candidates, IReadOnlyDictionary<string, int> Rejected, double Seconds);

/// <summary>
/// Self-instruction creation of prompts (Self-Rewarding, §2.2 and Appendix A, after Self-Instruct):
/// the model continues a list of tasks, "Come up with a series of tasks:" followed by eight
/// numbered demonstrations (six seed prompts, two it made before), and each task it writes is
/// kept unless Self-Instruct's filters drop it: three words or fewer, or more than 150; a word
/// that asks for something a language model cannot give (image, file, map, draw, video, ...);
/// starting with "Write a program", with punctuation or with a non-ASCII character; or a ROUGE-L
/// above 0.7 with any prompt of the pool. Prompts are appended as they are kept, so a stopped
/// run resumes; each round draws its demonstrations and samples from the seed and its number.
/// </summary>
public static partial class SelfInstruct
{
    /// <summary>The first line of the few-shot prompt (Self-Instruct's template for non-classification tasks).</summary>
    public const string Header = "Come up with a series of tasks:";

    /// <summary>Self-Instruct's words of tasks a language model cannot do.</summary>
    public static readonly IReadOnlyList<string> UnsuitableWords =
        ["image", "images", "graph", "graphs", "picture", "pictures", "file", "files", "map", "maps", "draw", "plot", "go to", "video", "audio", "music", "flowchart", "diagram"];

    /// <summary>Reasons a task is dropped, as the summary names them.</summary>
    public const string TooShortOrLong = "3 words or fewer, or more than 150", Unsuitable = "asks for something a language model cannot give",
        Program = "starts with 'Write a program'", Punctuation = "starts with punctuation", NonAscii = "starts with a non-ASCII character",
        Similar = "ROUGE-L above the limit with a prompt of the pool";

    /// <summary>The few-shot prompt for <paramref name="shots"/>: the header, "Task k: ..." per demonstration, then the open next task.</summary>
    public static string Prompt(IReadOnlyList<string> shots) =>
        $"{Header}\n\n" + string.Concat(shots.Select((s, i) => $"Task {i + 1}: {Spaces().Replace(s, " ").Trim()}\n")) + $"Task {shots.Count + 1}:";

    /// <summary>The tasks a continuation writes: the open one, then each further "Task k:".</summary>
    public static IReadOnlyList<string> Parse(string continuation) =>
        [.. TaskLabel().Split(continuation).Select(t => t.Trim()).Where(t => t.Length > 0)];

    /// <summary>Why Self-Instruct's rule-based filters drop <paramref name="task"/>, or null when none does.</summary>
    public static string? Reject(string task)
    {
        int words = task.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length;
        if (words <= 3 || words > 150) return TooShortOrLong;
        if (UnsuitableWords.Any(w => Regex.IsMatch(task, $@"\b{Regex.Escape(w)}\b", RegexOptions.IgnoreCase))) return Unsuitable;
        if (task.StartsWith("Write a program", StringComparison.Ordinal)) return Program;
        if (char.IsPunctuation(task[0]) || char.IsSymbol(task[0])) return Punctuation;
        if (!char.IsAscii(task[0])) return NonAscii;
        return null;
    }

    /// <summary>
    /// Writes new prompts to <paramref name="output"/> (JSONL <c>id</c>, <c>prompt</c>, <c>round</c>,
    /// <c>similarity</c>: the highest ROUGE-L with the pool when kept) until it holds
    /// <see cref="SelfInstructOptions.Count"/> or the rounds run out. Prompts made <paramref name="earlier"/>
    /// (by earlier runs into other files) are demonstrations and are filtered against, as this run's are.
    /// </summary>
    public static SelfInstructSummary Run(ILanguageModel model, IReadOnlyList<string> seeds, string output, SelfInstructOptions options,
        IStageProgress? progress = null, IReadOnlyList<string>? earlier = null)
    {
        progress ??= SilentProgress.Instance;
        options.Validate();
        if (seeds.Count == 0) throw new ArgumentException("self-instruction needs seed prompts");
        using var appender = JsonlAppender.Open(output);
        var mine = appender.Existing.Select(r => r.String("prompt")).ToList();
        var made = (earlier ?? []).Concat(mine).ToList();
        int round = appender.Existing.Select(r => r.Int("round")).DefaultIfEmpty(-1).Max() + 1;
        var pool = seeds.Concat(made).Select(RougeL.Tokens).ToList();
        int maxRounds = options.MaxRounds ?? 10 * ((options.Count + options.BatchRows - 1) / options.BatchRows) + 10;
        int written = 0, candidates = 0;
        var rejected = new Dictionary<string, int>();
        var clock = Stopwatch.StartNew();
        if (mine.Count >= options.Count) return new SelfInstructSummary(0, mine.Count, 0, rejected, 0);
        if (mine.Count > 0) progress.Note($"Resuming: {mine.Count} prompts already written, {options.Count - mine.Count} to go.");
        var task = progress.Begin("self-instructing", options.Count);
        task.Increment(mine.Count);
        for (int tries = 0; mine.Count < options.Count && tries < maxRounds; tries++, round++)
        {
            var requests = Enumerable.Range(0, options.BatchRows).Select(b =>
            {
                var random = RandomStream.For(options.Seed ^ (ulong)round * 0x9E3779B97F4A7C15UL, b);
                var shots = Draw(made, options.GeneratedShots, ref random).ToList();
                shots.InsertRange(0, Draw(seeds, options.SeedShots + options.GeneratedShots - shots.Count, ref random));
                return new GenerationRequest(model.Tokenizer.Encode(Prompt(shots), addSpecialTokens: true), 1, options.Seed ^ StableHash.Of($"{round}:{b}"));
            }).ToList();
            var continuations = model.Generate(requests, options.EffectiveSampling).OrderBy(c => c.Request).ToList();
            foreach (var c in continuations)
                foreach (string candidate in Parse(c.Text))
                {
                    if (mine.Count >= options.Count) break;
                    candidates++;
                    var tokens = RougeL.Tokens(candidate);
                    double similarity = pool.Count == 0 ? 0 : pool.Max(p => RougeL.F(p, tokens));
                    string? why = Reject(candidate) ?? (similarity > options.MaxSimilarity ? Similar : null);
                    if (why is not null)
                    {
                        rejected[why] = rejected.GetValueOrDefault(why) + 1;
                        continue;
                    }
                    appender.Append(new JsonObject
                    {
                        ["id"] = $"{options.IdPrefix}-{round}-{c.Request}-{mine.Count}", ["prompt"] = candidate, ["round"] = round, ["similarity"] = Math.Round(similarity, 4),
                    });
                    made.Add(candidate);
                    mine.Add(candidate);
                    pool.Add(tokens);
                    written++;
                    task.Increment(1);
                }
            task.Describe($"self-instructing: {mine.Count} kept of {candidates} written");
        }
        if (mine.Count < options.Count)
            progress.Note($"self-instruction stopped after {maxRounds} rounds with {mine.Count} of {options.Count} prompts: the model's tasks were mostly filtered out.");
        return new SelfInstructSummary(written, mine.Count, candidates, rejected, clock.Elapsed.TotalSeconds);
    }

    /// <summary><paramref name="n"/> distinct items drawn by <paramref name="random"/> (all of them when there are fewer).</summary>
    static IEnumerable<string> Draw(IReadOnlyList<string> items, int n, ref RandomStream random)
    {
        var indices = Enumerable.Range(0, items.Count).ToList();
        var drawn = new List<string>();
        for (int k = 0; k < n && indices.Count > 0; k++)
        {
            int at = (int)(random.NextDouble() * indices.Count);
            drawn.Add(items[indices[at]]);
            indices.RemoveAt(at);
        }
        return drawn;
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Spaces();

    [GeneratedRegex(@"\s*\bTask\s*\d+\s*:\s*")]
    private static partial Regex TaskLabel();
}
