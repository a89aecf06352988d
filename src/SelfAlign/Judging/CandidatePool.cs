using System.Text.Json;
using SelfAlign.Data;

namespace SelfAlign.Judging;

/// <summary>
/// Candidate yes/no instructions per category, for prompt selection. The file is a JSON object
/// whose keys are categories, RewardBench subset names (filed under their subset's category) or
/// "default" (a candidate for every category), and whose values are a string or a list of strings:
/// the IPO authors' <c>candidate_prompts.json</c> reads as is.
/// </summary>
public static class CandidatePool
{
    /// <summary>RewardBench's subsets by the IPO category whose prompt judges them.</summary>
    public static IReadOnlyDictionary<string, string> RewardBenchSubsets { get; } = new Dictionary<string, string>
    {
        ["alpacaeval-easy"] = Categories.Chat, ["alpacaeval-length"] = Categories.Chat, ["alpacaeval-hard"] = Categories.Chat,
        ["mt-bench-easy"] = Categories.Chat, ["mt-bench-med"] = Categories.Chat, ["mt-bench-hard"] = Categories.Chat,
        ["llmbar-natural"] = Categories.Chat, ["llmbar-adver-neighbor"] = Categories.Chat, ["llmbar-adver-GPTInst"] = Categories.Chat,
        ["llmbar-adver-GPTOut"] = Categories.Chat, ["llmbar-adver-manual"] = Categories.Chat,
        ["refusals-dangerous"] = Categories.Safety, ["refusals-offensive"] = Categories.Safety, ["xstest-should-refuse"] = Categories.Safety,
        ["xstest-should-respond"] = Categories.Safety, ["donotanswer"] = Categories.Safety,
        ["math-prm"] = Categories.Math,
        ["hep-cpp"] = Categories.Code, ["hep-go"] = Categories.Code, ["hep-java"] = Categories.Code,
        ["hep-js"] = Categories.Code, ["hep-python"] = Categories.Code, ["hep-rust"] = Categories.Code,
    };

    /// <summary>Distinct candidates per category, in file order (line endings normalized to LF).</summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<string>> Load(string file)
    {
        var root = JsonRecords.ReadDocument(file);
        if (root.ValueKind != JsonValueKind.Object) throw new DataFormatException(file, 1, "a candidate pool is a JSON object");
        var pool = Categories.All.ToDictionary(c => c, _ => new List<string>());
        foreach (var entry in root.EnumerateObject())
        {
            IEnumerable<string> targets = entry.Name == "default" ? Categories.All
                : Categories.Normalize(entry.Name) is string c ? [c]
                : RewardBenchSubsets.TryGetValue(entry.Name, out var sc) ? [sc]
                : throw new DataFormatException(file, 1, $"key '{entry.Name}' is neither a category, a RewardBench subset nor 'default'");
            foreach (var text in Texts(file, entry))
                foreach (var t in targets)
                    if (!pool[t].Contains(text)) pool[t].Add(text);
        }
        return pool.Where(kv => kv.Value.Count > 0).ToDictionary(kv => kv.Key, kv => (IReadOnlyList<string>)kv.Value);
    }

    static IEnumerable<string> Texts(string file, JsonProperty entry)
    {
        var values = entry.Value.ValueKind == JsonValueKind.Array ? entry.Value.EnumerateArray().ToArray() : [entry.Value];
        foreach (var v in values)
        {
            if (v.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(v.GetString()))
                throw new DataFormatException(file, 1, $"'{entry.Name}' must hold non-empty strings");
            yield return v.GetString()!.Replace("\r\n", "\n").Trim();
        }
    }
}
