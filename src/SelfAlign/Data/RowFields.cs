using System.Text.Json;
using SelfAlign.Text;

namespace SelfAlign.Data;

/// <summary>Fields that several row formats share, read with file:line errors naming the field.</summary>
public static class RowFields
{
    /// <summary>The row's <c>id</c> (a string or a number), or <c>line-N</c> when it has none.</summary>
    public static string Id(JsonElement row, string file, int line) => !row.TryGetProperty("id", out var id) ? $"line-{line}" : id.ValueKind switch
    {
        JsonValueKind.String => id.GetString()!,
        JsonValueKind.Number => id.GetRawText(),
        _ => throw new DataFormatException(file, line, "'id' must be a string or a number"),
    };

    /// <summary>Records <paramref name="id"/> in <paramref name="seen"/>, failing when an earlier row has it.</summary>
    public static void Unique(Dictionary<string, int> seen, string id, string file, int line)
    {
        if (!seen.TryAdd(id, line)) throw new DataFormatException(file, line, $"duplicate id '{id}' (first on line {seen[id]})");
    }

    /// <summary>A non-empty list of <c>{"role", "content"}</c> string messages.</summary>
    public static List<ChatMessage> Messages(JsonElement value, string file, int line, string field)
    {
        if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() == 0)
            throw new DataFormatException(file, line, $"'{field}' must be a non-empty list of messages");
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
