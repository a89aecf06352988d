using System.Text.Json;
using SelfAlign.Data;
using SelfAlign.Judging;
using SelfAlign.Text;

namespace SelfAlign.Evaluation;

/// <summary>A record that was skipped for being malformed.</summary>
public sealed record SkippedRecord(string File, int Line, string Reason);

/// <summary>
/// Reads preference benchmarks: RewardBench-format JSONL rows (<c>prompt</c>, <c>chosen</c>,
/// <c>rejected</c>, <c>subset</c>, optional <c>section</c>, <c>category</c>, <c>id</c>) and RM-Bench
/// JSON arrays whose <c>chosen</c> and <c>rejected</c> are lists of three (their section is their
/// <c>domain</c>, or the file's, with the safety sub-domains pooled). A folder stands for its
/// <c>*.jsonl</c> and <c>*.json</c> files in name order.
/// </summary>
public static class BenchData
{
    /// <summary>Loads every record; a malformed one fails with file:line, or is skipped and reported when <paramref name="skipInvalid"/>.</summary>
    public static (IReadOnlyList<BenchItem> Items, IReadOnlyList<SkippedRecord> Skipped) Load(IEnumerable<string> paths, bool skipInvalid)
    {
        var items = new List<BenchItem>();
        var skipped = new List<SkippedRecord>();
        var ids = new Dictionary<string, string>();
        foreach (var file in paths.SelectMany(Files))
        {
            foreach (var (line, row) in JsonRecords.Read(file))
            {
                try
                {
                    var item = Parse(file, line, row);
                    if (ids.TryGetValue(item.Id, out var first))
                        throw new DataFormatException(file, line, $"duplicate id '{item.Id}' (first at {first})");
                    ids[item.Id] = item.Source;
                    items.Add(item);
                }
                catch (DataFormatException e) when (skipInvalid)
                {
                    skipped.Add(new SkippedRecord(e.File, e.Line, e.Reason));
                }
            }
        }
        if (items.Count == 0) throw new ArgumentException($"no benchmark records in {string.Join(", ", paths)}");
        return (items, skipped);
    }

    /// <summary>The files <paramref name="path"/> stands for: itself, or a folder's .jsonl and .json files in name order.</summary>
    public static IReadOnlyList<string> Files(string path)
    {
        if (File.Exists(path)) return [path];
        if (!Directory.Exists(path)) throw new FileNotFoundException($"{path}: no such file or folder");
        var files = Directory.EnumerateFiles(path).Where(f => f.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase)
            || f.EndsWith(".json", StringComparison.OrdinalIgnoreCase)).Order(StringComparer.Ordinal).ToArray();
        return files.Length > 0 ? files : throw new FileNotFoundException($"{path}: no .jsonl or .json files in this folder");
    }

    static BenchItem Parse(string file, int line, JsonElement row)
    {
        string stem = Path.GetFileNameWithoutExtension(file);
        string? Text(string field, bool required)
        {
            if (!row.TryGetProperty(field, out var v) || v.ValueKind == JsonValueKind.Null)
                return required ? throw new DataFormatException(file, line, $"missing field '{field}'") : null;
            return v.ValueKind switch
            {
                JsonValueKind.String when required && string.IsNullOrWhiteSpace(v.GetString()) => throw new DataFormatException(file, line, $"field '{field}' is empty"),
                JsonValueKind.String => v.GetString(),
                JsonValueKind.Number when field == "id" => v.GetRawText(),
                _ => throw new DataFormatException(file, line, $"field '{field}' must be a string, got {v.ValueKind}"),
            };
        }
        IReadOnlyList<string> Responses(string field)
        {
            if (!row.TryGetProperty(field, out var v)) throw new DataFormatException(file, line, $"missing field '{field}'");
            var list = v.ValueKind switch
            {
                JsonValueKind.String => [v],
                JsonValueKind.Array => v.EnumerateArray().ToArray(),
                _ => throw new DataFormatException(file, line, $"field '{field}' must be a string or a list of strings, got {v.ValueKind}"),
            };
            if (list.Length == 0) throw new DataFormatException(file, line, $"field '{field}' is an empty list");
            return list.Select((e, i) => e.ValueKind == JsonValueKind.String && !string.IsNullOrWhiteSpace(e.GetString()) ? e.GetString()!
                : throw new DataFormatException(file, line, $"field '{field}'[{i}] must be a non-empty string")).ToArray();
        }

        string prompt = Text("prompt", true)!;
        var chosen = Responses("chosen");
        var rejected = Responses("rejected");
        // RM-Bench records (three chosen, three rejected) belong to a domain: their own field, or the file's
        // (chat_filtered.json holds chat); their subset field names the source set.
        string? domain = Text("domain", false) ?? (chosen.Count == 3 && rejected.Count == 3 ? RmBenchScore.DomainOfFile(stem) : null);
        string subset = Text("subset", false) ?? domain ?? stem;
        string? category = Text("category", false);
        if (category is not null && Categories.Normalize(category) is null)
            throw new DataFormatException(file, line, $"field 'category' is '{category}', not one of {string.Join(", ", Categories.All)}");
        return new BenchItem(Text("id", false) is string id ? (row.GetProperty("id").ValueKind == JsonValueKind.Number ? $"{stem}-{id}" : id) : $"{stem}-line{line}",
            subset, Text("section", false) ?? (domain is null ? subset : RmBenchScore.Domain(domain)), Categories.Normalize(category), prompt, chosen, rejected, $"{file}:{line}");
    }

    /// <summary>
    /// At most <paramref name="perGroup"/> records of each group (by default the subset), drawn by
    /// <paramref name="seed"/> from the record ids, kept in file order.
    /// </summary>
    public static IReadOnlyList<BenchItem> Sample(IReadOnlyList<BenchItem> items, int perGroup, ulong seed, Func<BenchItem, string>? groupBy = null)
    {
        var kept = items.GroupBy(groupBy ?? (i => i.Subset))
            .SelectMany(g => g.OrderBy(i => StableHash.Of($"{seed}:{i.Id}")).Take(perGroup))
            .ToHashSet();
        return items.Where(kept.Contains).ToArray();
    }
}
