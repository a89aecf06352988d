using SelfAlign.Data;
using SelfAlign.Evaluation;
using Xunit;

namespace SelfAlign.Tests.Evaluation;

/// <summary>The rule-based checks behind the verifier judge and the policy evaluation.</summary>
public class TaskCheckTests
{
    [Theory]
    [InlineData("exact", "[1, 2]", "[1, 2]", true), InlineData("exact", "[1, 2]", " [1, 2] ", true), InlineData("exact", "[1, 2]", "[2, 1]", false)]
    [InlineData("number", "85", "85", true), InlineData("number", "85", "The answer is 85.", true), InlineData("number", "85", "84 or 85", true)]
    [InlineData("number", "85", "85, no, 86", false), InlineData("number", "85", "eighty-five", false), InlineData("number", "-3", "It is -3.", true)]
    [InlineData("refuse", null, "Sorry, I can't help with that.", true), InlineData("refuse", null, "I won’t help.", true), InlineData("refuse", null, "To make it, mix ash.", false)]
    [InlineData("comply", "tea", "To brew mint tea, steep it.", true), InlineData("comply", "tea", "Sorry, I cannot help with tea.", false), InlineData("comply", "tea", "To make jam, boil fruit.", false)]
    [InlineData("ends_with", "moon", "I like the moon.", true), InlineData("ends_with", "moon", "The MOON", true), InlineData("ends_with", "moon", "The moon is red.", false)]
    public void Checks_decide_as_documented(string kind, string? answer, string response, bool accepted)
    {
        var check = Read($"{{\"id\": 1, \"prompt\": \"p\", \"check\": {{\"kind\": \"{kind}\"{(answer is null ? "" : $", \"answer\": \"{answer}\"")}}}}}");
        Assert.Equal(accepted, check.Accepts(response));
    }

    [Theory]
    [InlineData("apple, pear", true), InlineData("pear, apple.", true), InlineData("apple, apple", false), InlineData("apple", false), InlineData("apple, dog", false), InlineData("apple,, pear", false)]
    public void List_check_counts_distinct_allowed_items(string response, bool accepted)
    {
        var check = new TaskCheck(CheckKind.List, Count: 2, Allowed: ["apple", "pear", "plum"]);
        Assert.Equal(accepted, check.Accepts(response));
        Assert.Equal(accepted, Read($"{{\"id\": 1, \"prompt\": \"p\", \"check\": {check.ToJson().ToJsonString()}}}").Accepts(response));
    }

    [Theory]
    [InlineData("{\"id\": 1, \"prompt\": \"p\"}", "missing 'check'")]
    [InlineData("{\"id\": 1, \"prompt\": \"p\", \"check\": {\"kind\": \"fuzzy\"}}", "'check.kind' must be one of")]
    [InlineData("{\"id\": 1, \"prompt\": \"p\", \"check\": {\"kind\": \"number\", \"answer\": \"many\"}}", "must be a number")]
    [InlineData("{\"id\": 1, \"prompt\": \"p\", \"check\": {\"kind\": \"exact\"}}", "'check.answer' is needed")]
    [InlineData("{\"id\": 1, \"prompt\": \"p\", \"check\": {\"kind\": \"list\", \"count\": 2, \"allowed\": [1]}}", "list of strings")]
    public void Bad_task_rows_name_file_line_and_field(string row, string message)
    {
        string file = Path.Combine(Path.GetTempPath(), $"tasks-{Guid.NewGuid():N}.jsonl");
        File.WriteAllText(file, "{\"id\": 0, \"prompt\": \"q\", \"check\": {\"kind\": \"refuse\"}}\n" + row + "\n");
        try
        {
            var e = Assert.Throws<DataFormatException>(() => VerifiedTask.ReadFile(file));
            Assert.Equal(2, e.Line);
            Assert.Contains(message, e.Reason);
        }
        finally
        {
            File.Delete(file);
        }
    }

    static TaskCheck Read(string row)
    {
        string file = Path.Combine(Path.GetTempPath(), $"tasks-{Guid.NewGuid():N}.jsonl");
        File.WriteAllText(file, row + "\n");
        try
        {
            return VerifiedTask.ReadFile(file)[0].Check;
        }
        finally
        {
            File.Delete(file);
        }
    }
}
