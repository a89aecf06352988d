using System.Text.Json;
using SelfAlign.Data;

namespace SelfAlign.Pipeline;

/// <summary>One sampled completion of a candidates file.</summary>
/// <param name="PromptId">The prompt's id.</param>
/// <param name="Sample">Sample index within the prompt.</param>
/// <param name="Prompt">The prompt as given: a string or a message list.</param>
/// <param name="Text">The completion.</param>
/// <param name="Line">The row's line in the candidates file.</param>
public sealed record Candidate(string PromptId, int Sample, JsonElement Prompt, string Text, int Line = 0)
{
    /// <summary>The instruction a judge reads: the prompt string, or the last user message of a conversation.</summary>
    public string Instruction => Prompt.ValueKind == JsonValueKind.String ? Prompt.GetString()!
        : Prompt.EnumerateArray().Last(m => m.GetProperty("role").GetString() == "user").GetProperty("content").GetString()!;
}

/// <summary>Reads the candidates JSONL that <see cref="GenerateStage"/> writes, grouped by prompt in file order.</summary>
public static class Candidates
{
    /// <summary>The candidates of each prompt, ordered by sample; every row is checked and the first bad one fails with file:line.</summary>
    public static List<(string PromptId, List<Candidate> Samples)> Read(string file)
    {
        var groups = new Dictionary<string, List<Candidate>>();
        var order = new List<string>();
        foreach (var row in Jsonl.Read(file))
        {
            string id = row.String("prompt_id"), text = row.String("text");
            int index = row.Int("sample");
            if (index < 0) throw row.Error("'sample' must be >= 0");
            var prompt = row.Field("prompt");
            if (prompt.ValueKind == JsonValueKind.Array)
            {
                if (!RowFields.Messages(prompt, file, row.Line, "prompt").Any(m => m.Role == "user"))
                    throw row.Error("'prompt' has no user message");
            }
            else if (prompt.ValueKind != JsonValueKind.String) throw row.Error("'prompt' must be a string or a list of messages");
            if (!groups.TryGetValue(id, out var list))
            {
                groups[id] = list = [];
                order.Add(id);
            }
            if (list.Find(c => c.Sample == index) is { } twin) throw row.Error($"duplicate sample {index} of prompt '{id}' (first on line {twin.Line})");
            list.Add(new Candidate(id, index, prompt.Clone(), text, row.Line));
        }
        if (order.Count == 0) throw new DataFormatException(file, 1, "no candidates");
        return order.Select(id => (id, groups[id].OrderBy(c => c.Sample).ToList())).ToList();
    }
}
