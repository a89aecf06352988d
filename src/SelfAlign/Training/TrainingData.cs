using System.Text.Json;
using SelfAlign.Data;
using SelfAlign.Text;

namespace SelfAlign.Training;

/// <summary>The context a completion continues: a conversation (TRL's conversational format) or plain text (standard format).</summary>
/// <param name="Messages">Role/content messages, or null.</param>
/// <param name="Text">A prompt string, or null.</param>
public sealed record ExamplePrompt(IReadOnlyList<ChatMessage>? Messages, string? Text);

/// <summary>One supervised example: a prompt and the completion to learn.</summary>
public sealed record SftExample(string Id, int Line, ExamplePrompt Prompt, string Completion);

/// <summary>One preference pair; <paramref name="Strength"/> is PSO's calibrated preference strength, when the row has one.</summary>
public sealed record PreferenceExample(string Id, int Line, ExamplePrompt Prompt, string Chosen, string Rejected, double? Strength);

/// <summary>
/// Reads training JSONL in TRL's formats. A prompt is a string or a list of messages; a
/// completion (<c>completion</c> or <c>response</c> for SFT, <c>chosen</c> and <c>rejected</c>
/// for preferences) is a string or a one-message assistant list. Every row is checked; the first
/// bad one fails with file:line and the field.
/// </summary>
public static class TrainingData
{
    /// <summary>SFT rows: <c>{"id", "prompt", "completion" | "response"}</c> or <c>{"id", "messages"}</c> (the last message is the completion).</summary>
    public static List<SftExample> ReadSft(string file)
    {
        var rows = new List<SftExample>();
        foreach (var (line, row) in Rows(file))
        {
            string id = Id(row, line, file);
            if (row.TryGetProperty("messages", out var messages))
            {
                var all = Messages(messages, file, line, "messages");
                if (all.Count < 2 || all[^1].Role != "assistant")
                    throw new DataFormatException(file, line, "'messages' must end with an assistant message after at least one other");
                rows.Add(new SftExample(id, line, new ExamplePrompt(all.Take(all.Count - 1).ToArray(), null), all[^1].Content));
                continue;
            }
            string field = row.TryGetProperty("completion", out _) ? "completion" : "response";
            rows.Add(new SftExample(id, line, Prompt(row, file, line), Completion(row, field, file, line)));
        }
        return Checked(rows, file, r => (r.Id, r.Line));
    }

    /// <summary>Preference rows: <c>{"id", "prompt", "chosen", "rejected", "strength"?}</c>.</summary>
    public static List<PreferenceExample> ReadPreferences(string file)
    {
        var rows = new List<PreferenceExample>();
        foreach (var (line, row) in Rows(file))
        {
            double? strength = null;
            if (row.TryGetProperty("strength", out var s) && s.ValueKind != JsonValueKind.Null)
            {
                if (s.ValueKind != JsonValueKind.Number || !(s.GetDouble() is >= 0 and <= 1))
                    throw new DataFormatException(file, line, "'strength' must be a number in [0, 1]");
                strength = s.GetDouble();
            }
            rows.Add(new PreferenceExample(Id(row, line, file), line, Prompt(row, file, line),
                Completion(row, "chosen", file, line), Completion(row, "rejected", file, line), strength));
        }
        return Checked(rows, file, r => (r.Id, r.Line));
    }

    static IEnumerable<(int Line, JsonElement Row)> Rows(string file) => Jsonl.Read(file);

    static List<T> Checked<T>(List<T> rows, string file, Func<T, (string Id, int Line)> key)
    {
        if (rows.Count == 0) throw new DataFormatException(file, 1, "no rows");
        var seen = new Dictionary<string, int>();
        foreach (var row in rows)
        {
            var (id, line) = key(row);
            if (!seen.TryAdd(id, line)) throw new DataFormatException(file, line, $"duplicate id '{id}' (first on line {seen[id]})");
        }
        return rows;
    }

    static string Id(JsonElement row, int line, string file) => !row.TryGetProperty("id", out var id) ? $"line-{line}" : id.ValueKind switch
    {
        JsonValueKind.String => id.GetString()!,
        JsonValueKind.Number => id.GetRawText(),
        _ => throw new DataFormatException(file, line, "'id' must be a string or a number"),
    };

    static ExamplePrompt Prompt(JsonElement row, string file, int line)
    {
        if (!row.TryGetProperty("prompt", out var prompt)) throw new DataFormatException(file, line, "missing 'prompt'");
        if (prompt.ValueKind == JsonValueKind.String) return new ExamplePrompt(null, prompt.GetString());
        return new ExamplePrompt(Messages(prompt, file, line, "prompt"), null);
    }

    static string Completion(JsonElement row, string field, string file, int line)
    {
        if (!row.TryGetProperty(field, out var value)) throw new DataFormatException(file, line, $"missing '{field}'");
        if (value.ValueKind == JsonValueKind.String) return value.GetString()!;
        var messages = Messages(value, file, line, field);
        if (messages.Count != 1 || messages[0].Role != "assistant")
            throw new DataFormatException(file, line, $"'{field}' must be a string or a list of one assistant message");
        return messages[0].Content;
    }

    static List<ChatMessage> Messages(JsonElement value, string file, int line, string field)
    {
        if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() == 0)
            throw new DataFormatException(file, line, $"'{field}' must be a string or a non-empty list of messages");
        var list = new List<ChatMessage>();
        foreach (var m in value.EnumerateArray())
        {
            if (m.ValueKind != JsonValueKind.Object || !m.TryGetProperty("role", out var role) || role.ValueKind != JsonValueKind.String)
                throw new DataFormatException(file, line, $"'{field}[{list.Count}]' needs a string 'role'");
            if (!m.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.String)
                throw new DataFormatException(file, line, $"'{field}[{list.Count}]' needs a string 'content'");
            list.Add(new ChatMessage(role.GetString()!, content.GetString()!));
        }
        return list;
    }
}
