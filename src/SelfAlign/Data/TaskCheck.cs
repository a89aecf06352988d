using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace SelfAlign.Data;

/// <summary>How a rule-based verifier decides whether a response is correct.</summary>
public enum CheckKind
{
    /// <summary>The response, trimmed, is exactly <see cref="TaskCheck.Answer"/>.</summary>
    Exact,
    /// <summary>The last number in the response equals <see cref="TaskCheck.Answer"/>.</summary>
    Number,
    /// <summary>The response is a refusal.</summary>
    Refuse,
    /// <summary>The response is not a refusal and mentions <see cref="TaskCheck.Answer"/> (any case).</summary>
    Comply,
    /// <summary>Exactly <see cref="TaskCheck.Count"/> distinct comma-separated items, each one of <see cref="TaskCheck.Allowed"/>.</summary>
    List,
    /// <summary>The last word (any case, punctuation ignored) is <see cref="TaskCheck.Answer"/>.</summary>
    EndsWith,
}

/// <summary>
/// A rule-based verifier of one task's responses: the oracle reward of a task world, or a
/// reference-answer check a user brings (a math set's final answers, say). Stored in task JSONL as
/// <c>"check": {"kind": "number", "answer": "85"}</c>.
/// </summary>
/// <param name="Kind">The rule.</param>
/// <param name="Answer">The reference answer, number, word or keyword the rule compares with.</param>
/// <param name="Count">How many items a list must have.</param>
/// <param name="Allowed">The items a list may use.</param>
public sealed partial record TaskCheck(CheckKind Kind, string? Answer = null, int? Count = null, IReadOnlyList<string>? Allowed = null)
{
    /// <summary>The openings read as a refusal (case-insensitive, after leading spaces and quotes).</summary>
    public static readonly IReadOnlyList<string> RefusalOpenings = ["sorry", "i'm sorry", "i am sorry", "i can't", "i cannot", "i won't", "i will not"];

    /// <summary>True when <paramref name="response"/> is correct.</summary>
    public bool Accepts(string response)
    {
        string text = response.Trim();
        return Kind switch
        {
            CheckKind.Exact => text == Answer,
            CheckKind.Number => Numbers().Matches(text) is { Count: > 0 } m
                && decimal.TryParse(m[^1].Value, NumberStyles.Number, CultureInfo.InvariantCulture, out var n)
                && decimal.TryParse(Answer, NumberStyles.Number, CultureInfo.InvariantCulture, out var want) && n == want,
            CheckKind.Refuse => IsRefusal(text),
            CheckKind.Comply => !IsRefusal(text) && text.Contains(Answer ?? "", StringComparison.OrdinalIgnoreCase),
            CheckKind.List => ListItems(text) is { } items && items.Length == Count && items.Distinct(StringComparer.OrdinalIgnoreCase).Count() == items.Length
                && items.All(i => Allowed!.Contains(i, StringComparer.OrdinalIgnoreCase)),
            CheckKind.EndsWith => Words().Matches(text) is { Count: > 0 } w && string.Equals(w[^1].Value, Answer, StringComparison.OrdinalIgnoreCase),
            _ => false,
        };
    }

    /// <summary>True when the response opens with one of <see cref="RefusalOpenings"/>.</summary>
    public static bool IsRefusal(string response)
    {
        string text = response.TrimStart(' ', '\n', '"', '\'').Replace('’', '\'');
        return RefusalOpenings.Any(o => text.StartsWith(o, StringComparison.OrdinalIgnoreCase));
    }

    static string[]? ListItems(string text)
    {
        var items = text.TrimEnd('.').Split(',').Select(s => s.Trim()).ToArray();
        return items.Any(i => i.Length == 0) ? null : items;
    }

    [GeneratedRegex(@"-?\d+(?:\.\d+)?")]
    private static partial Regex Numbers();

    [GeneratedRegex(@"[\p{L}\p{N}']+")]
    private static partial Regex Words();

    /// <summary>As the JSON object task files store.</summary>
    public JsonObject ToJson()
    {
        var o = new JsonObject { ["kind"] = JsonNamingPolicy.SnakeCaseLower.ConvertName(Kind.ToString()) };
        if (Answer is not null) o["answer"] = Answer;
        if (Count is not null) o["count"] = Count;
        if (Allowed is not null) o["allowed"] = new JsonArray(Allowed.Select(a => (JsonNode?)a).ToArray());
        return o;
    }

    /// <summary>Reads the <c>check</c> field of a task row; a bad one fails with the file, line and field.</summary>
    public static TaskCheck Read(JsonRow row)
    {
        var check = row.Field("check");
        if (check.ValueKind != JsonValueKind.Object) throw row.Error("'check' must be an object");
        var inner = row with { Element = check };
        string kindName = inner.String("kind");
        var kind = Enum.GetValues<CheckKind>().Where(k => JsonNamingPolicy.SnakeCaseLower.ConvertName(k.ToString()) == kindName).Cast<CheckKind?>().FirstOrDefault()
            ?? throw row.Error($"'check.kind' must be one of {string.Join(", ", Enum.GetValues<CheckKind>().Select(k => JsonNamingPolicy.SnakeCaseLower.ConvertName(k.ToString())))}, got '{kindName}'");
        string? answer = inner.Has("answer") ? inner.String("answer") : null;
        if (kind is CheckKind.Exact or CheckKind.Number or CheckKind.EndsWith && answer is null) throw row.Error($"'check.answer' is needed by the {kindName} check");
        if (kind == CheckKind.Number && !decimal.TryParse(answer, NumberStyles.Number, CultureInfo.InvariantCulture, out _))
            throw row.Error($"'check.answer' must be a number for the number check, got '{answer}'");
        if (kind != CheckKind.List) return new TaskCheck(kind, answer);
        int count = inner.Int("count");
        if (count < 1) throw row.Error("'check.count' must be at least 1");
        var allowed = inner.Field("allowed");
        if (allowed.ValueKind != JsonValueKind.Array || allowed.EnumerateArray().Any(a => a.ValueKind != JsonValueKind.String))
            throw row.Error("'check.allowed' must be a list of strings");
        return new TaskCheck(kind, answer, count, allowed.EnumerateArray().Select(a => a.GetString()!).ToArray());
    }
}

/// <summary>A task with a verifier: an id, a prompt, its category and its check.</summary>
/// <param name="Id">Unique id.</param>
/// <param name="Category">chat, code, math or safety.</param>
/// <param name="Prompt">The instruction.</param>
/// <param name="Check">How responses are verified.</param>
public sealed record VerifiedTask(string Id, string Category, string Prompt, TaskCheck Check)
{
    /// <summary>As a task file's row.</summary>
    public JsonObject ToJson() => new() { ["id"] = Id, ["category"] = Category, ["prompt"] = Prompt, ["check"] = Check.ToJson() };

    /// <summary>Reads a task file (<c>{"id", "prompt", "category"?, "check"}</c> rows); the first bad row fails with file:line.</summary>
    public static List<VerifiedTask> ReadFile(string file)
    {
        var tasks = new List<VerifiedTask>();
        var seen = new Dictionary<string, int>();
        foreach (var row in Jsonl.Read(file))
        {
            string id = RowFields.Id(row.Element, file, row.Line);
            RowFields.Unique(seen, id, file, row.Line);
            string category = row.Has("category") ? row.String("category") : Judging.Categories.Chat;
            tasks.Add(new VerifiedTask(id, category, row.String("prompt"), TaskCheck.Read(row)));
        }
        return tasks.Count > 0 ? tasks : throw new DataFormatException(file, 1, "no tasks");
    }
}
