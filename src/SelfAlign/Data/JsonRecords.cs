using System.Text.Json;

namespace SelfAlign.Data;

/// <summary>Records of a JSONL file (one object per line) or of a JSON file holding an array of objects, each with its line.</summary>
public static class JsonRecords
{
    /// <summary>Reads <paramref name="file"/> by its extension: <c>.json</c> as an array, anything else as JSONL.</summary>
    public static IEnumerable<JsonRow> Read(string file) =>
        Path.GetExtension(file).Equals(".json", StringComparison.OrdinalIgnoreCase) ? ReadArray(file) : Jsonl.Read(file);

    /// <summary>The whole of a JSON file (UTF-8, comments allowed); a syntax error fails with file:line.</summary>
    public static JsonElement ReadDocument(string file)
    {
        var bytes = ReadUtf8(file);
        try
        {
            using var doc = JsonDocument.Parse(bytes, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            return doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw DataFormatException.InvalidJson(file, e);
        }
    }

    /// <summary>The bytes of a text file that must be UTF-8 (without a byte order mark).</summary>
    public static byte[] ReadUtf8(string file)
    {
        if (!File.Exists(file)) throw new FileNotFoundException($"{file}: file not found");
        var bytes = File.ReadAllBytes(file);
        Utf8Text.Check(file, bytes);
        return Utf8Text.WithoutBom(bytes).ToArray();
    }

    static IEnumerable<JsonRow> ReadArray(string file)
    {
        var bytes = ReadUtf8(file);
        var records = new List<JsonRow>();
        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip });
        int line = 1;
        long counted = 0;
        int LineAt(long offset)
        {
            for (; counted < offset; counted++) if (bytes[counted] == (byte)'\n') line++;
            return line;
        }
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray)
                throw new DataFormatException(file, 1, "expected a JSON array of objects");
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                int at = LineAt(reader.TokenStartIndex);
                if (reader.TokenType != JsonTokenType.StartObject)
                    throw new DataFormatException(file, at, $"expected a JSON object, got {reader.TokenType}");
                using var doc = JsonDocument.ParseValue(ref reader);
                records.Add(new JsonRow(file, at, doc.RootElement.Clone()));
            }
        }
        catch (JsonException e)
        {
            throw DataFormatException.InvalidJson(file, e);
        }
        return records;
    }
}
