using System.Text.Json;
using SelfAlign.Data;

namespace SelfAlign.Pipeline;

/// <summary>One sampled completion of a candidates file.</summary>
/// <param name="PromptId">The prompt's id.</param>
/// <param name="Sample">Sample index within the prompt.</param>
/// <param name="Prompt">The prompt as given: a string or a message list.</param>
/// <param name="Text">The completion.</param>
public sealed record Candidate(string PromptId, int Sample, JsonElement Prompt, string Text)
{
    /// <summary>The instruction a judge reads: the prompt string, or the last user message of a conversation.</summary>
    public string Instruction => Prompt.ValueKind == JsonValueKind.String ? Prompt.GetString()!
        : Prompt.EnumerateArray().Last(m => m.GetProperty("role").GetString() == "user").GetProperty("content").GetString()!;
}

/// <summary>Reads the candidates JSONL that <see cref="GenerateStage"/> writes, grouped by prompt in file order.</summary>
public static class Candidates
{
    /// <summary>The candidates of each prompt, ordered by sample.</summary>
    public static List<(string PromptId, List<Candidate> Samples)> Read(string file)
    {
        var groups = new Dictionary<string, List<Candidate>>();
        var order = new List<string>();
        foreach (var (line, row) in Jsonl.Read(file))
        {
            string Field(string name) => row.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()!
                : throw new DataFormatException(file, line, $"'{name}' must be a string");
            string id = Field("prompt_id"), text = Field("text");
            if (!row.TryGetProperty("sample", out var sample) || !sample.TryGetInt32(out int index))
                throw new DataFormatException(file, line, "'sample' must be an integer");
            if (!row.TryGetProperty("prompt", out var prompt) || prompt.ValueKind is not (JsonValueKind.String or JsonValueKind.Array))
                throw new DataFormatException(file, line, "'prompt' must be a string or a list of messages");
            if (prompt.ValueKind == JsonValueKind.Array && !prompt.EnumerateArray().Any(m => m.TryGetProperty("role", out var r) && r.GetString() == "user"))
                throw new DataFormatException(file, line, "'prompt' has no user message");
            if (!groups.TryGetValue(id, out var list))
            {
                groups[id] = list = [];
                order.Add(id);
            }
            if (list.Any(c => c.Sample == index)) throw new DataFormatException(file, line, $"duplicate sample {index} of prompt '{id}'");
            list.Add(new Candidate(id, index, prompt.Clone(), text));
        }
        return order.Select(id => (id, groups[id].OrderBy(c => c.Sample).ToList())).ToList();
    }
}
