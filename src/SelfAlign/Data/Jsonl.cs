using System.Text;
using System.Text.Json;

namespace SelfAlign.Data;

/// <summary>JSON Lines files: one JSON object per line; blank lines are ignored.</summary>
public static class Jsonl
{
    /// <summary>Reads every object of <paramref name="file"/> with its 1-based line number; a bad line fails with file:line.</summary>
    public static IEnumerable<(int Line, JsonElement Row)> Read(string file)
    {
        if (!System.IO.File.Exists(file)) throw new FileNotFoundException($"{file}: file not found");
        int line = 0;
        foreach (string text in System.IO.File.ReadLines(file))
        {
            line++;
            if (string.IsNullOrWhiteSpace(text)) continue;
            JsonElement row;
            try
            {
                using var doc = JsonDocument.Parse(text);
                row = doc.RootElement.Clone();
            }
            catch (JsonException e)
            {
                throw DataFormatException.InvalidJson(file, e, line);
            }
            if (row.ValueKind != JsonValueKind.Object) throw new DataFormatException(file, line, $"expected a JSON object, got {row.ValueKind}");
            yield return (line, row);
        }
    }
}

/// <summary>
/// An append-only JSONL output that survives being killed: every row is one complete line written
/// and flushed at once; on reopening, a torn last line (from a kill mid-write) is cut off and the
/// rows already there are handed back so the caller can skip their work.
/// </summary>
public sealed class JsonlAppender : IDisposable
{
    readonly FileStream _stream;

    JsonlAppender(FileStream stream, List<JsonElement> existing)
    {
        _stream = stream;
        Existing = existing;
    }

    /// <summary>The complete rows the file held when it was opened.</summary>
    public IReadOnlyList<JsonElement> Existing { get; }

    /// <summary>Opens (or creates) <paramref name="file"/> for appending after its complete rows.</summary>
    public static JsonlAppender Open(string file)
    {
        string? dir = Path.GetDirectoryName(Path.GetFullPath(file));
        if (dir is not null) Directory.CreateDirectory(dir);
        var stream = new FileStream(file, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        var rows = new List<JsonElement>();
        long keep = 0;
        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        int start = 0;
        for (int i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] != (byte)'\n') continue;
            var line = bytes.AsSpan(start, i - start);
            if (!TryParse(line, out var row)) break;   // a damaged row ends what counts as written
            if (row is JsonElement r) rows.Add(r);
            start = i + 1;
            keep = start;
        }
        stream.SetLength(keep);
        stream.Seek(keep, SeekOrigin.Begin);
        return new JsonlAppender(stream, rows);
    }

    static bool TryParse(ReadOnlySpan<byte> line, out JsonElement? row)
    {
        row = null;
        if (line.Trim((byte)' ').Length == 0) return true;
        try
        {
            var reader = new Utf8JsonReader(line);
            using var doc = JsonDocument.ParseValue(ref reader);
            row = doc.RootElement.Clone();
            return true;
        }
        catch (JsonException)
        {
            return false;
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
