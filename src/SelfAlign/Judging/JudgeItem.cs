namespace SelfAlign.Judging;

/// <summary>One response to judge: the user's instruction, the response and what kind of task it is.</summary>
/// <param name="Instruction">The user's instruction or question.</param>
/// <param name="Response">The response to judge.</param>
/// <param name="Category">chat, code, math or safety; picks the yes/no judge's prompt.</param>
/// <param name="Subset">The benchmark subset, where a prompt set has a prompt for that subset.</param>
public sealed record JudgeItem(string Instruction, string Response, string Category = Categories.Chat, string? Subset = null);

/// <summary>The task categories of the IPO paper.</summary>
public static class Categories
{
    /// <summary>General conversation and open questions.</summary>
    public const string Chat = "chat";
    /// <summary>Writing or reading code.</summary>
    public const string Code = "code";
    /// <summary>Computation and mathematical reasoning.</summary>
    public const string Math = "math";
    /// <summary>Requests where safety decides what a good response is.</summary>
    public const string Safety = "safety";

    /// <summary>All four, in the paper's order.</summary>
    public static IReadOnlyList<string> All { get; } = [Chat, Code, Math, Safety];

    /// <summary>The category name in canonical form, or null when <paramref name="name"/> is none of the four.</summary>
    public static string? Normalize(string? name) => All.FirstOrDefault(c => string.Equals(c, name?.Trim(), StringComparison.OrdinalIgnoreCase));
}
