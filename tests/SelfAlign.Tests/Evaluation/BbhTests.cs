using System.Text.Json;
using SelfAlign.Evaluation;
using Xunit;

namespace SelfAlign.Tests.Evaluation;

/// <summary>
/// BBH's answer extraction and exact match against lm-evaluation-harness's own filter and metric
/// code run on the same responses (fixtures/bbh/filters.json from make_fixtures.py), for every task.
/// </summary>
public sealed class BbhTests
{
    static readonly Bbh Suite = Bbh.Load(Path.Combine(Bbh.ShippedFolder, Bbh.SettingsFile));

    [Fact]
    public void Every_task_extracts_and_scores_as_the_harness()
    {
        var fixture = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestModels.Fixtures, "bbh", "filters.json"))).RootElement;
        Assert.Equal(27, Suite.Tasks.Count);
        Assert.Equal(Suite.Tasks.Order(), fixture.EnumerateObject().Select(t => t.Name).Order());
        int checkedResponses = 0;
        foreach (var task in fixture.EnumerateObject())
            foreach (var example in task.Value.EnumerateArray())
            {
                var item = new BbhItem(task.Name, 0, example.GetProperty("input").GetString()!, example.GetProperty("target").GetString()!);
                foreach (var r in example.GetProperty("responses").EnumerateArray())
                {
                    var score = Suite.Score(item, r.GetProperty("response").GetString()!);
                    string where = $"{task.Name}: {r}";
                    Assert.True(r.GetProperty("flexible").GetString() == score.Extracted, $"extracted '{score.Extracted}', {where}");
                    Assert.True(r.GetProperty("strict_score").GetDouble() == 1 == score.Strict, $"strict, {where}");
                    Assert.True(r.GetProperty("flexible_score").GetDouble() == 1 == score.Flexible, $"flexible, {where}");
                    checkedResponses++;
                }
            }
        Assert.True(checkedResponses > 27 * 3 * 19, $"{checkedResponses}");
    }

    [Theory]
    [InlineData("forty two", 42L)]
    [InlineData("two million three thousand", 2004003L)] // w2n reads the words after "million" again when "thousand" is last
    [InlineData("one hundred twenty three", 123L)]
    [InlineData("three thousand four hundred five", 3405L)]
    [InlineData("twenty one thousand and six", 21006L)]
    [InlineData("one billion two million", 1003000002L)]
    [InlineData("two hundred thousand", 200000L)]
    [InlineData("ninety-nine", 99L)]
    public void Words_read_as_word2number_reads_them(string words, long expected) => Assert.Equal(expected, WordToNumber.Parse(words));

    [Theory]
    [InlineData("apples")]
    [InlineData("thousand thousand")]
    [InlineData("five thousand two million")]
    public void Words_word2number_refuses_are_no_number(string words) => Assert.Null(WordToNumber.Parse(words));

    [Fact]
    public void A_task_file_with_shots_makes_its_prompts_few_shot()
    {
        string dir = Directory.CreateTempSubdirectory("selfalign-bbh-shots-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "navigate.json"), """
                {"examples": [{"input": "Go left. Return?", "target": "No"}],
                 "shots": [{"input": "Go back. Return?", "target": "Yes"}, {"input": "Stay. Return?", "target": "Yes"}]}
                """);
            var suite = Bbh.Load(Path.Combine(Bbh.ShippedFolder, Bbh.SettingsFile));
            var item = Assert.Single(suite.Read(dir, ["navigate"], 0));
            Assert.True(suite.FewShot("navigate"));
            Assert.EndsWith("Q: Go back. Return?\nA: Yes\n\nQ: Stay. Return?\nA: Yes\n\nQ: Go left. Return?\nA:", suite.Prompt(item));
            Assert.DoesNotContain("Q: Go back", Suite.Prompt(new BbhItem("navigate", 0, "Go left. Return?", "No")));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Responses_are_cut_at_the_first_stop_string()
    {
        Assert.Equal(" (A)\n\n", Suite.Cut(" (A)\n\nQ: next question"));
        Assert.Equal(" True", Suite.Cut(" True</s>Q:"));
        Assert.Equal("Evaluate the result of a random Boolean expression.\n\nQ: not True\nA:", Suite.Prompt(new BbhItem("boolean_expressions", 0, "not True", "False")));
    }
}
