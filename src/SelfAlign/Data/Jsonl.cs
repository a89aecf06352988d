using System.Text;
using System.Text.Json;

namespace SelfAlign.Data;

/// <summary>JSON Lines files: one JSON object per line, UTF-8; blank lines are ignored.</summary>
public static class Jsonl
{
    /// <summary>Reads every object of <paramref name="file"/> with its 1-based line number; a bad line fails with file:line.</summary>
    public static IEnumerable<JsonRow> Read(string file)
    {
        if (!File.Exists(file)) throw new FileNotFoundException($"{file}: file not found");
        int line = 0;
        foreach (byte[] bytes in Lines(file))
        {
            line++;
            if (Parse(file, line, line == 1 ? Utf8Text.WithoutBom(bytes) : bytes) is JsonElement row) yield return new JsonRow(file, line, row);
        }
    }

    /// <summary>The object on one line, or null when the line is blank; invalid UTF-8, invalid JSON and non-objects fail with file:line.</summary>
    public static JsonElement? Parse(string file, int line, ReadOnlySpan<byte> bytes)
    {
        if (bytes.EndsWith("\r"u8)) bytes = bytes[..^1];
        if (bytes.Trim(" \t"u8).Length == 0) return null;
        Utf8Text.Check(file, bytes, line);
        JsonElement row;
        try
        {
            var reader = new Utf8JsonReader(bytes);
            using var doc = JsonDocument.ParseValue(ref reader);
            if (reader.Read()) throw new DataFormatException(file, line, $"more than one JSON value on the line (column {reader.TokenStartIndex + 1})");
            row = doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw DataFormatException.InvalidJson(file, e, line);
        }
        return row.ValueKind == JsonValueKind.Object ? row : throw new DataFormatException(file, line, $"expected a JSON object, got {Kind(row.ValueKind)}");
    }

    /// <summary>How a JSON value kind reads in an error message.</summary>
    public static string Kind(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Array => "a list",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "true/false",
        JsonValueKind.Null => "null",
        _ => "an object",
    };

    /// <summary>The lines of a file as bytes, without the newline, read in blocks.</summary>
    static IEnumerable<byte[]> Lines(string file)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 16);
        var buffer = new byte[1 << 16];
        var pending = new MemoryStream();
        int read;
        while ((read = stream.Read(buffer)) > 0)
        {
            int start = 0;
            for (int i; (i = Array.IndexOf(buffer, (byte)'\n', start, read - start)) >= 0; start = i + 1)
            {
                pending.Write(buffer, start, i - start);
                yield return pending.ToArray();
                pending.SetLength(0);
            }
            pending.Write(buffer, start, read - start);
        }
        if (pending.Length > 0) yield return pending.ToArray();
    }
}

/// <summary>
/// An append-only JSONL output that survives being killed: every row is one complete line written
/// and flushed at once. On reopening, a torn last line (from a kill mid-write: no newline yet) is
/// cut off and the complete rows are handed back so the caller can skip their work. A complete
/// line that does not parse is damage, not a kill, and stops the run at that line.
/// </summary>
public sealed class JsonlAppender : IDisposable
{
    readonly FileStream _stream;

    JsonlAppender(FileStream stream, List<JsonRow> existing)
    {
        _stream = stream;
        Existing = existing;
    }

    /// <summary>The complete rows the file held when it was opened.</summary>
    public IReadOnlyList<JsonRow> Existing { get; }

    /// <summary>Opens (or creates) <paramref name="file"/> for appending after its complete rows.</summary>
    public static JsonlAppender Open(string file)
    {
        string? dir = Path.GetDirectoryName(Path.GetFullPath(file));
        if (dir is not null) Directory.CreateDirectory(dir);
        var stream = new FileStream(file, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        try
        {
            var bytes = new byte[stream.Length];
            stream.ReadExactly(bytes);
            var rows = new List<JsonRow>();
            int start = 0, line = 0;
            for (int end; (end = Array.IndexOf(bytes, (byte)'\n', start)) >= 0; start = end + 1)
            {
                line++;
                var text = bytes.AsSpan(start, end - start);
                try
                {
                    if (Jsonl.Parse(file, line, line == 1 ? Utf8Text.WithoutBom(text) : text) is JsonElement row) rows.Add(new JsonRow(file, line, row));
                }
                catch (DataFormatException e)
                {
                    throw new DataFormatException(file, line, $"damaged row ({e.Reason}); the rows after it are intact. " +
                        "Repair or delete this line and run the same command again, or delete the file to start over");
                }
            }
            stream.SetLength(start);
            stream.Seek(start, SeekOrigin.Begin);
            return new JsonlAppender(stream, rows);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Appends one row as a single line and flushes it to the operating system.</summary>
    public void Append(object row, JsonSerializerOptions? options = null)
    {
        var bytes = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(row, options ?? RowOptions) + "\n");
        _stream.Write(bytes);
        _stream.Flush();
    }

    /// <summary>Compact JSON with non-ASCII text kept readable.</summary>
    public static readonly JsonSerializerOptions RowOptions = new()
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <inheritdoc />
    public void Dispose()
    {
        _stream.Flush(flushToDisk: true);
        _stream.Dispose();
    }
}
