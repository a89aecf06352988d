namespace SelfAlign.Evaluation;

/// <summary>
/// One benchmark record: a prompt with chosen and rejected responses. A RewardBench row has one
/// of each; an RM-Bench record has three of each at rising style levels (concise, detailed,
/// detailed with Markdown), and every chosen one is compared with every rejected one.
/// </summary>
/// <param name="Id">Unique across the benchmark.</param>
/// <param name="Subset">The subset it belongs to (the file name when the row names none).</param>
/// <param name="Section">The section its subset is weighted into (the subset when the row names none).</param>
/// <param name="Category">chat, code, math or safety when the row says; null leaves it to the model.</param>
/// <param name="Prompt">The user instruction.</param>
/// <param name="Chosen">The preferred response(s).</param>
/// <param name="Rejected">The dispreferred response(s).</param>
/// <param name="Source">file:line of the record.</param>
public sealed record BenchItem(string Id, string Subset, string Section, string? Category, string Prompt,
    IReadOnlyList<string> Chosen, IReadOnlyList<string> Rejected, string Source)
{
    /// <summary>True for a 3 x 3 RM-Bench record, whose comparisons split into easy, normal and hard.</summary>
    public bool HasStyleLevels => Chosen.Count == 3 && Rejected.Count == 3;
}
