using SelfAlign.Data;
using SelfAlign.Demo;
using SelfAlign.Evaluation;
using SelfAlign.Judging;
using Xunit;

namespace SelfAlign.Tests.Demo;

/// <summary>The task world: its generators agree with its verifiers, and held-out prompts stay out of training.</summary>
public class TaskWorldTests
{
    [Theory]
    [InlineData("math"), InlineData("code"), InlineData("chat"), InlineData("safety")]
    public void Correct_responses_pass_and_wrong_ones_fail_their_check(string category)
    {
        var random = new Random(3);
        var mistakes = new HashSet<string>();
        for (int i = 0; i < 400; i++)
        {
            var draft = TaskWorld.Draw(category, random, $"t{i}");
            Assert.Equal(category, draft.Task.Category);
            string good = draft.Correct(random);
            Assert.True(draft.Task.Check.Accepts(good), $"{draft.Task.Prompt} -> {good} should pass");
            var wrong = WorldData.Wrong(draft, random);
            Assert.False(draft.Task.Check.Accepts(wrong.Text), $"{draft.Task.Prompt} -> {wrong.Text} should fail");
            mistakes.Add(wrong.Mistake);
        }
        Assert.True(mistakes.Count >= 2, $"{category}: only {string.Join(", ", mistakes)}");
    }

    static readonly WorldSizes Small = new(200, 0.5, 200, 20, 20, 20, BenchPerCategory: 10, LoopPrompts: 40, TestPerCategory: 10);

    [Fact]
    public void Held_out_prompts_never_appear_in_training_rows()
    {
        var splits = WorldData.Build(Small, seed: 5);
        var heldOut = splits.TestTasks.Select(t => t.Prompt).Concat(splits.LoopTasks.Select(t => t.Prompt)).Concat(splits.BenchTasks.Select(t => t.Prompt)).ToHashSet();
        Assert.Equal(4 * 10 + 40 + 4 * 10, heldOut.Count);
        foreach (var row in splits.PolicySft) Assert.DoesNotContain((string)row["prompt"]!, heldOut);
        // Judge rows embed the instruction in a judge prompt.
        foreach (var row in splits.JudgeSft)
        {
            string prompt = (string)row["prompt"]!;
            Assert.DoesNotContain(heldOut, h => prompt.Contains($": {h}\n") || prompt.Contains($"User: {h}\n") || prompt.Contains($"Instruction: {h}\n"));
        }
    }

    [Fact]
    public void Splits_are_deterministic_by_seed_and_labelled_by_the_checks()
    {
        var a = WorldData.Build(Small, seed: 9);
        var b = WorldData.Build(Small, seed: 9);
        Assert.Equal(a.JudgeSft.Select(r => r.ToJsonString()), b.JudgeSft.Select(r => r.ToJsonString()));
        Assert.NotEqual(a.JudgeSft.Select(r => r.ToJsonString()), WorldData.Build(Small, seed: 10).JudgeSft.Select(r => r.ToJsonString()));
        var tasks = a.BenchTasks.ToDictionary(t => t.Id);
        foreach (var record in a.PrefBench)
        {
            var check = tasks[(string)record["id"]!].Check;
            Assert.True(check.Accepts((string)record["chosen"]!));
            Assert.False(check.Accepts((string)record["rejected"]!));
        }
        var yesNo = a.JudgeSft.Where(r => ((string)r["id"]!).StartsWith("yesno")).Select(r => (string)r["completion"]!).ToList();
        Assert.InRange(yesNo.Count(c => c == "Yes") / (double)yesNo.Count, 0.35, 0.65);
        Assert.All(a.JudgeSft.Where(r => ((string)r["id"]!).StartsWith("additive")), r => Assert.NotNull(ScoreParser.Parse((string)r["completion"]!)));
    }
}
