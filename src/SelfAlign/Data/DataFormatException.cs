using System.Text.Json;

namespace SelfAlign.Data;

/// <summary>A row of a data file is malformed; the message reads <c>file:line: reason</c>.</summary>
public sealed class DataFormatException(string file, int line, string reason)
    : Exception($"{file}:{line}: {reason}")
{
    /// <summary>The file at fault.</summary>
    public string File { get; } = file;
    /// <summary>1-based line number.</summary>
    public int Line { get; } = line;
    /// <summary>What is wrong, without the location.</summary>
    public string Reason { get; } = reason;

    /// <summary>
    /// The error for a JSON syntax error in <paramref name="file"/>: at the parser's line unless
    /// <paramref name="line"/> says where (one JSONL row), with the column, and without the
    /// parser's own position suffix.
    /// </summary>
    public static DataFormatException InvalidJson(string file, JsonException e, int? line = null)
    {
        string column = e.BytePositionInLine is long at ? $" at column {at + 1}" : "";
        return new(file, line ?? (int)(e.LineNumber ?? 0) + 1, $"invalid JSON{column}: {JsonMessages.Describe(e)}");
    }
}
