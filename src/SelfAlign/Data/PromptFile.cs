using System.Text.Json;

namespace SelfAlign.Data;

/// <summary>
/// One prompt of a prompts file: plain text, or a conversation (role/content messages) to be
/// continued by the assistant.
/// </summary>
/// <param name="Id">The row's <c>id</c> (string or number), or <c>line-N</c> when it has none.</param>
/// <param name="Text">The prompt text (standard format), or null.</param>
/// <param name="Messages">The conversation (conversational format), or null.</param>
/// <param name="Line">1-based line in the file.</param>
public sealed record PromptRow(string Id, string? Text, JsonElement? Messages, int Line);

/// <summary>
/// Prompts in TRL's JSONL formats: <c>{"id", "prompt": "..."}</c>, <c>{"id", "messages": [...]}</c>
/// or <c>{"id", "prompt": [messages]}</c>. Every row is checked; the first bad one fails with file:line.
/// </summary>
public static class PromptFile
{
    /// <summary>Reads and validates every row of <paramref name="file"/>.</summary>
    public static List<PromptRow> Read(string file)
    {
        var rows = new List<PromptRow>();
        var seen = new Dictionary<string, int>();
        foreach (var (line, row) in Jsonl.Read(file))
        {
            string id = RowFields.Id(row, file, line);
            RowFields.Unique(seen, id, file, line);

            bool hasPrompt = row.TryGetProperty("prompt", out var prompt);
            bool hasMessages = row.TryGetProperty("messages", out var messages);
            if (hasPrompt && hasMessages) throw new DataFormatException(file, line, "has both 'prompt' and 'messages'; keep one");
            if (hasPrompt && prompt.ValueKind == JsonValueKind.String)
            {
                if (prompt.GetString()!.Length == 0) throw new DataFormatException(file, line, "'prompt' is empty");
                rows.Add(new PromptRow(id, prompt.GetString(), null, line));
            }
            else if (hasPrompt || hasMessages)
            {
                var conversation = hasPrompt ? prompt : messages;
                RowFields.Messages(conversation, file, line, hasPrompt ? "prompt" : "messages");
                rows.Add(new PromptRow(id, null, conversation, line));
            }
            else throw new DataFormatException(file, line, "missing 'prompt' (a string or a list of messages) or 'messages'");
        }
        if (rows.Count == 0) throw new DataFormatException(file, 1, "no prompts");
        return rows;
    }
}
