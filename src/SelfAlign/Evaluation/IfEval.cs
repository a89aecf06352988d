using System.Text.Json;
using System.Text.Json.Nodes;
using SelfAlign.Data;

namespace SelfAlign.Evaluation;

/// <summary>An IFEval prompt: its verifiable instructions and their kwargs, with the built checks.</summary>
/// <param name="Key">The item's key.</param>
/// <param name="Prompt">The prompt the policy answers.</param>
/// <param name="InstructionIds">Its instructions, e.g. <c>punctuation:no_comma</c>.</param>
/// <param name="Checks">One check per instruction.</param>
public sealed record IfEvalItem(int Key, string Prompt, IReadOnlyList<string> InstructionIds, IReadOnlyList<Func<string, bool>> Checks);

/// <summary>The verdict on one response, in the reference's output fields.</summary>
/// <param name="Item">The prompt.</param>
/// <param name="Response">The response judged.</param>
/// <param name="Followed">Per instruction, whether the response follows it.</param>
public sealed record IfEvalVerdict(IfEvalItem Item, string Response, IReadOnlyList<bool> Followed)
{
    /// <summary>Whether every instruction is followed (the prompt-level verdict).</summary>
    public bool FollowedAll => Followed.All(f => f);

    /// <summary>The row of <c>eval_results_strict.jsonl</c> / <c>eval_results_loose.jsonl</c>, fields as the reference writes them.</summary>
    public JsonObject ToJson() => new()
    {
        ["instruction_id_list"] = new JsonArray([.. Item.InstructionIds.Select(i => (JsonNode?)i)]),
        ["prompt"] = Item.Prompt, ["response"] = Response, ["follow_all_instructions"] = FollowedAll,
        ["follow_instruction_list"] = new JsonArray([.. Followed.Select(f => (JsonNode?)f)]),
    };
}

/// <summary>Prompt- and instruction-level accuracy of one variant (strict or loose).</summary>
/// <param name="PromptLevel">Share of prompts whose every instruction is followed.</param>
/// <param name="InstructionLevel">Share of all instructions followed.</param>
/// <param name="Prompts">Prompts scored.</param>
/// <param name="Instructions">Instructions scored.</param>
public sealed record IfEvalAccuracy(double PromptLevel, double InstructionLevel, int Prompts, int Instructions)
{
    /// <summary>The accuracy of <paramref name="verdicts"/>.</summary>
    public static IfEvalAccuracy Of(IReadOnlyCollection<IfEvalVerdict> verdicts)
    {
        int instructions = verdicts.Sum(v => v.Followed.Count);
        return new IfEvalAccuracy(verdicts.Count == 0 ? 0 : verdicts.Count(v => v.FollowedAll) / (double)verdicts.Count,
            instructions == 0 ? 0 : verdicts.Sum(v => v.Followed.Count(f => f)) / (double)instructions, verdicts.Count, instructions);
    }

    /// <summary>Wilson 95% interval of the prompt-level accuracy.</summary>
    public (double Low, double High) PromptInterval => Proportion.Wilson(PromptLevel, Prompts);
}

/// <summary>An IFEval result: strict and loose accuracies, their mean, and accuracy per instruction type.</summary>
/// <param name="Strict">Responses judged as given.</param>
/// <param name="Loose">A response counts when any of its loose variants follows the instruction.</param>
/// <param name="PerInstruction">Per instruction id: (strict accuracy, loose accuracy, how many).</param>
public sealed record IfEvalScores(IfEvalAccuracy Strict, IfEvalAccuracy Loose, IReadOnlyDictionary<string, (double Strict, double Loose, int Count)> PerInstruction)
{
    /// <summary>The mean of the four accuracies (prompt and instruction level, strict and loose): the single IFEval number.</summary>
    public double Mean => (Strict.PromptLevel + Strict.InstructionLevel + Loose.PromptLevel + Loose.InstructionLevel) / 4;
}

/// <summary>
/// IFEval (Zhou et al., 2023) as Google's reference evaluates it (<c>evaluation_lib.py</c>): each
/// instruction of a prompt is checked on the response (strict), or on the response and its loose
/// variants (first line, last line or both removed, asterisks removed); an empty response follows nothing.
/// </summary>
public static class IfEval
{
    /// <summary>Reads IFEval's input data (<c>key</c>, <c>prompt</c>, <c>instruction_id_list</c>, <c>kwargs</c>) and builds every check; a bad row fails with file:line.</summary>
    public static List<IfEvalItem> Read(string file)
    {
        var items = new List<IfEvalItem>();
        foreach (var row in Jsonl.Read(file)) items.Add(Item(row));
        return items;
    }

    /// <summary>The 541 prompts of Google's IFEval data, shipped with SelfAlign (copied next to the program).</summary>
    public static string ShippedData => Path.Combine(AppContext.BaseDirectory, "data", "ifeval", "input_data.jsonl");

    static IfEvalItem Item(JsonRow row)
    {
        var ids = row.Field("instruction_id_list");
        var kwargs = row.Field("kwargs");
        if (ids.ValueKind != JsonValueKind.Array || ids.EnumerateArray().Any(i => i.ValueKind != JsonValueKind.String))
            throw row.Error("'instruction_id_list' must be a list of strings");
        if (kwargs.ValueKind != JsonValueKind.Array || kwargs.GetArrayLength() != ids.GetArrayLength() || kwargs.EnumerateArray().Any(k => k.ValueKind != JsonValueKind.Object))
            throw row.Error("'kwargs' must be a list of objects, one per instruction");
        var idList = ids.EnumerateArray().Select(i => i.GetString()!).ToArray();
        var checks = new Func<string, bool>[idList.Length];
        for (int i = 0; i < idList.Length; i++)
            try
            {
                checks[i] = IfEvalInstructions.Build(idList[i], JsonNode.Parse(kwargs[i].GetRawText())!.AsObject());
            }
            catch (ArgumentException e)
            {
                throw row.Error($"'kwargs' {i}: {e.Message}");
            }
        return new IfEvalItem(row.Int("key"), row.String("prompt"), idList, checks);
    }

    /// <summary>The verdict on <paramref name="response"/>, strict or loose.</summary>
    public static IfEvalVerdict Check(IfEvalItem item, string response, bool loose)
    {
        var variants = loose ? LooseVariants(response) : [response];
        return new IfEvalVerdict(item, response, [.. item.Checks.Select(check => variants.Any(v => v.Trim().Length > 0 && check(v)))]);
    }

    /// <summary>The response, without asterisks, and without its first line, last line or both, each also without asterisks (the reference's order).</summary>
    public static List<string> LooseVariants(string response)
    {
        var lines = response.Split('\n');
        string removeFirst = string.Join('\n', lines.Skip(1)).Trim(), removeLast = string.Join('\n', lines.Take(lines.Length - 1)).Trim(),
            removeBoth = string.Join('\n', lines.Skip(1).Take(lines.Length - 2)).Trim();
        return [response, response.Replace("*", ""), removeFirst, removeLast, removeBoth, removeFirst.Replace("*", ""), removeLast.Replace("*", ""), removeBoth.Replace("*", "")];
    }

    /// <summary>Strict and loose accuracies and the per-instruction breakdown of matching verdict lists.</summary>
    public static IfEvalScores Score(IReadOnlyList<IfEvalVerdict> strict, IReadOnlyList<IfEvalVerdict> loose)
    {
        var perInstruction = new SortedDictionary<string, (double, double, int)>(StringComparer.Ordinal);
        var flat = strict.Zip(loose).SelectMany(p => p.First.Item.InstructionIds.Select((id, i) => (id, S: p.First.Followed[i], L: p.Second.Followed[i])));
        foreach (var g in flat.GroupBy(x => x.id))
            perInstruction[g.Key] = (g.Count(x => x.S) / (double)g.Count(), g.Count(x => x.L) / (double)g.Count(), g.Count());
        return new IfEvalScores(IfEvalAccuracy.Of(strict.ToList()), IfEvalAccuracy.Of(loose.ToList()), perInstruction);
    }
}
