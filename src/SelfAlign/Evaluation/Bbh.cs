using System.Text.Json;
using System.Text.RegularExpressions;
using SelfAlign.Data;

namespace SelfAlign.Evaluation;

/// <summary>A BBH question.</summary>
/// <param name="Task">The task (file name without .json).</param>
/// <param name="Index">Its position in the task's examples.</param>
/// <param name="Input">The question.</param>
/// <param name="Target">The gold answer.</param>
public sealed record BbhItem(string Task, int Index, string Input, string Target)
{
    /// <summary>A row id unique across tasks.</summary>
    public string Id => $"{Task}/{Index}";
}

/// <summary>One scored response: the answer extracted, and whether the raw response (strict) and the answer (flexible) match the target.</summary>
/// <param name="Item">The question.</param>
/// <param name="Response">The response, cut at the first stop string.</param>
/// <param name="Extracted">The answer the flexible filter took out.</param>
/// <param name="Strict">Exact match of the response itself ("strict-match").</param>
/// <param name="Flexible">Exact match of the extracted answer ("flexible-extract").</param>
public sealed record BbhScore(BbhItem Item, string Response, string Extracted, bool Strict, bool Flexible);

/// <summary>
/// BIG-Bench Hard zero-shot as lm-evaluation-harness runs it (<c>bbh_zeroshot</c>): each task's
/// description, then <c>Q: {input}\nA:</c>; greedy generation cut at its stop strings; exact match
/// of the raw response ("strict-match") and of the answer its task's filter extracts
/// ("flexible-extract"), case and a few characters ignored. The settings (descriptions, filters,
/// stop strings, ignore rules) are read from a JSON file taken from the harness (<c>data/bbh/lm_eval_zeroshot.json</c>).
/// </summary>
public sealed class Bbh
{
    readonly Dictionary<string, (string Description, BbhAnswer Answer)> _tasks;
    readonly Regex[] _ignore;
    readonly bool _ignoreCase;
    readonly Dictionary<string, string> _shots = new(StringComparer.Ordinal);

    /// <summary>The 27 tasks shipped with SelfAlign (copied next to the program), with their settings file <c>lm_eval_zeroshot.json</c>.</summary>
    public static string ShippedFolder => Path.Combine(AppContext.BaseDirectory, "data", "bbh");

    /// <summary>The settings file's name in a BBH folder.</summary>
    public const string SettingsFile = "lm_eval_zeroshot.json";

    /// <summary>The stop strings of generation.</summary>
    public IReadOnlyList<string> Until { get; }

    /// <summary>The task names, in the settings' order.</summary>
    public IReadOnlyList<string> Tasks => [.. _tasks.Keys];

    Bbh(Dictionary<string, (string, BbhAnswer)> tasks, Regex[] ignore, bool ignoreCase, string[] until) =>
        (_tasks, _ignore, _ignoreCase, Until) = (tasks, ignore, ignoreCase, until);

    /// <summary>Reads the settings file; a bad one fails naming the file and field.</summary>
    public static Bbh Load(string file)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(file));
            var root = doc.RootElement;
            var match = root.GetProperty("exact_match");
            var tasks = root.GetProperty("tasks").EnumerateObject().ToDictionary(t => t.Name,
                t => (t.Value.GetProperty("description").GetString()!, new BbhAnswer(t.Value.GetProperty("filter"))), StringComparer.Ordinal);
            return new Bbh(tasks, [.. match.GetProperty("regexes_to_ignore").EnumerateArray().Select(r => new Regex(r.GetString()!, RegexOptions.CultureInvariant))],
                match.GetProperty("ignore_case").GetBoolean(), [.. root.GetProperty("until").EnumerateArray().Select(u => u.GetString()!)]);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or ArgumentException)
        {
            throw new DataFormatException(file, 1, $"not BBH settings ({e.Message})");
        }
    }

    /// <summary>
    /// The questions of <paramref name="tasks"/> from a folder of BBH task files
    /// (<c>{"examples": [{"input", "target"}], "shots"?: [{"input", "target"}]}</c>), the first
    /// <paramref name="limit"/> of each (0: all). A task file with <c>shots</c> makes its prompts few-shot.
    /// </summary>
    public List<BbhItem> Read(string folder, IReadOnlyList<string> tasks, int limit)
    {
        _shots.Clear();
        var items = new List<BbhItem>();
        foreach (string task in tasks)
        {
            if (!_tasks.ContainsKey(task)) throw new InvalidSettingException("tasks", $"'{task}' is not a BBH task; the tasks: {string.Join(", ", _tasks.Keys)}");
            string file = Path.Combine(folder, task + ".json");
            if (!File.Exists(file)) throw new FileNotFoundException($"{file}: file not found");
            using var doc = JsonDocument.Parse(File.ReadAllText(file));
            if (!doc.RootElement.TryGetProperty("examples", out var examples) || examples.ValueKind != JsonValueKind.Array)
                throw new DataFormatException(file, 1, "expected an object with an 'examples' list");
            if (doc.RootElement.TryGetProperty("shots", out var shots))
                _shots[task] = shots.ValueKind == JsonValueKind.Array && shots.EnumerateArray().All(IsExample)
                    ? string.Concat(shots.EnumerateArray().Select(x => $"Q: {x.GetProperty("input").GetString()}\nA: {x.GetProperty("target").GetString()}\n\n"))
                    : throw new DataFormatException(file, 1, "'shots' must be a list of {\"input\", \"target\"} strings");
            int index = 0;
            foreach (var e in examples.EnumerateArray())
            {
                if (limit > 0 && index >= limit) break;
                if (!IsExample(e)) throw new DataFormatException(file, 1, $"example {index}: 'input' and 'target' must be strings");
                items.Add(new BbhItem(task, index++, e.GetProperty("input").GetString()!, e.GetProperty("target").GetString()!));
            }
        }
        return items;
    }

    static bool IsExample(JsonElement e) => e.ValueKind == JsonValueKind.Object && e.TryGetProperty("input", out var i) && i.ValueKind == JsonValueKind.String &&
        e.TryGetProperty("target", out var t) && t.ValueKind == JsonValueKind.String;

    /// <summary>
    /// The prompt: the task's description, its shots where the task file gives them (each
    /// <c>Q: {input}\nA: {target}</c> and a blank line, as the harness's few-shot BBH), then <c>Q: {input}\nA:</c>.
    /// </summary>
    public string Prompt(BbhItem item) => $"{_tasks[item.Task].Description}{_shots.GetValueOrDefault(item.Task)}Q: {item.Input}\nA:";

    /// <summary>Whether the task file of <paramref name="task"/> gave shots.</summary>
    public bool FewShot(string task) => _shots.ContainsKey(task);

    /// <summary>Scores a response already cut at the stop strings.</summary>
    public BbhScore Score(BbhItem item, string response)
    {
        string extracted = _tasks[item.Task].Answer.Extract(response, item.Input);
        return new BbhScore(item, response, extracted, BbhAnswer.ExactMatch(response, item.Target, _ignore, _ignoreCase),
            BbhAnswer.ExactMatch(extracted, item.Target, _ignore, _ignoreCase));
    }

    /// <summary>Cuts a response at the first of the stop strings, as the harness's <c>until</c>.</summary>
    public string Cut(string response)
    {
        int end = response.Length;
        foreach (string stop in Until)
        {
            int at = response.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && at < end) end = at;
        }
        return response[..end];
    }
}
