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
        foreach (var (line, row) in Jsonl.Read(file))
        {
            string id = RowFields.Id(row, file, line);
            if (row.TryGetProperty("messages", out var messages))
            {
                var all = RowFields.Messages(messages, file, line, "messages");
                if (all.Count < 2 || all[^1].Role != "assistant")
                    throw new DataFormatException(file, line, "'messages' must end with an assistant message after at least one other");
                if (string.IsNullOrWhiteSpace(all[^1].Content))
                    throw new DataFormatException(file, line, "the last message of 'messages' is empty: there is nothing to train on");
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
        foreach (var (line, row) in Jsonl.Read(file))
        {
            double? strength = null;
            if (row.TryGetProperty("strength", out var s) && s.ValueKind != JsonValueKind.Null)
            {
                if (s.ValueKind != JsonValueKind.Number || !(s.GetDouble() is >= 0 and <= 1))
                    throw new DataFormatException(file, line, "'strength' must be a number in [0, 1]");
                strength = s.GetDouble();
            }
            string chosen = Completion(row, "chosen", file, line), rejected = Completion(row, "rejected", file, line);
            if (chosen == rejected) throw new DataFormatException(file, line, "'chosen' and 'rejected' are the same text, which teaches nothing");
            rows.Add(new PreferenceExample(RowFields.Id(row, file, line), line, Prompt(row, file, line), chosen, rejected, strength));
        }
        return Checked(rows, file, r => (r.Id, r.Line));
    }

    static List<T> Checked<T>(List<T> rows, string file, Func<T, (string Id, int Line)> key)
    {
        if (rows.Count == 0) throw new DataFormatException(file, 1, "no rows");
        var seen = new Dictionary<string, int>();
        foreach (var row in rows)
        {
            var (id, line) = key(row);
            RowFields.Unique(seen, id, file, line);
        }
        return rows;
    }

    static ExamplePrompt Prompt(JsonElement row, string file, int line)
    {
        if (!row.TryGetProperty("prompt", out var prompt)) throw new DataFormatException(file, line, "missing 'prompt'");
        if (prompt.ValueKind == JsonValueKind.String)
            return prompt.GetString()!.Length > 0 ? new ExamplePrompt(null, prompt.GetString()) : throw new DataFormatException(file, line, "'prompt' is empty");
        return new ExamplePrompt(RowFields.Messages(prompt, file, line, "prompt"), null);
    }

    static string Completion(JsonElement row, string field, string file, int line)
    {
        if (!row.TryGetProperty(field, out var value)) throw new DataFormatException(file, line, $"missing '{field}'");
        string text;
        if (value.ValueKind == JsonValueKind.String) text = value.GetString()!;
        else
        {
            var messages = RowFields.Messages(value, file, line, field);
            if (messages.Count != 1 || messages[0].Role != "assistant")
                throw new DataFormatException(file, line, $"'{field}' must be a string or a list of one assistant message");
            text = messages[0].Content;
        }
        return string.IsNullOrWhiteSpace(text) ? throw new DataFormatException(file, line, $"'{field}' is empty: there is nothing to train on") : text;
    }
}
