using System.Text.Json.Nodes;
using SelfAlign.Pipeline;
using SelfAlign.Tests.Judging;
using SelfAlign.Text;
using Xunit;

namespace SelfAlign.Tests.Pipeline;

/// <summary>Self-instruction creation: the few-shot prompt, the parse, Self-Instruct's filters and ROUGE-L, and a resumable run.</summary>
public sealed class SelfInstructTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("selfalign-self-instruct-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Rouge_l_is_the_lcs_f_measure_of_lower_cased_alphanumeric_tokens()
    {
        // LCS 5 of 5 and 6 tokens: P = 1, R = 5/6, F = 2 * 5/6 / (11/6) = 10/11.
        Assert.Equal(10.0 / 11, RougeL.F("The cat sat on the mat.", "the cat ON the mat"), 12);
        Assert.Equal(["it", "s", "a", "test", "123"], RougeL.Tokens("It's a TEST-123!"));
        Assert.Equal(1.0, RougeL.F("Name three colors.", "name THREE colors"), 12);
        // LCS of "a b c d" and "b d a c" is 2 ("b d" or "a c"): F = 2 * 0.5 * 0.5 / 1 = 0.5.
        Assert.Equal(0.5, RougeL.F("a b c d", "b d a c"), 12);
        Assert.Equal(0, RougeL.F("", "anything"));
    }

    [Fact]
    public void The_prompt_lists_the_demonstrations_and_leaves_the_next_task_open()
    {
        Assert.Equal("Come up with a series of tasks:\n\nTask 1: Say hi.\nTask 2: Name a   color.\nTask 3:".Replace("   ", " "),
            SelfInstruct.Prompt(["Say hi.", "Name a \n  color."]));
        Assert.Equal(["Write a haiku about rain.", "Explain gravity to a child.", "List three fruits."],
            SelfInstruct.Parse(" Write a haiku about rain.\nTask 4: Explain gravity to a child.\n\nTask 5:List three fruits.\nTask 6:"));
    }

    [Theory]
    [InlineData("Sort these words by length please.", null)]
    [InlineData("Say hi now.", SelfInstruct.TooShortOrLong)]
    [InlineData("Describe the image below in detail.", SelfInstruct.Unsuitable)]
    [InlineData("Tell me how to go to the station.", SelfInstruct.Unsuitable)]
    [InlineData("Write a program that adds two numbers.", SelfInstruct.Program)]
    [InlineData("(Optional) explain recursion with an example.", SelfInstruct.Punctuation)]
    [InlineData("Écrivez un poème sur la mer, s'il vous plaît.", SelfInstruct.NonAscii)]
    public void Self_instructs_filters_drop_what_a_pool_should_not_hold(string task, string? reason) =>
        Assert.Equal(reason, SelfInstruct.Reject(task));

    [Fact]
    public void A_run_keeps_new_tasks_drops_near_copies_and_resumes()
    {
        string[] topics = ["a rocket engine", "photosynthesis in plants", "the stock market", "a refrigerator", "the human heart", "a solar eclipse"];
        int calls = 0;
        var model = new ScriptedModel(TestModels.Tokenizer("smollm2"))
        {
            // Each continuation: a near copy of a seed, a new task on the next topic, one too short.
            Completion = (_, _) => $" Explain how a rainbow forms in the sky.\nTask 10: Describe how {topics[calls++ % topics.Length]} works, step by step.\nTask 11: Hi there.",
        };
        string[] seeds = ["Explain how a rainbow forms in the sky please.", "Write a short poem about autumn leaves.", "Give three tips for learning a language.",
            "Summarize the plot of a famous novel.", "Suggest a name for a new coffee shop.", "Compare cats and dogs as pets.", "Describe a healthy breakfast menu."];
        string output = Path.Combine(_dir, "prompts.jsonl");
        var first = SelfInstruct.Run(model, seeds, output, new SelfInstructOptions(Count: 2, Seed: 3, BatchRows: 2));
        Assert.Equal((2, 2), (first.Written, first.Total));
        Assert.True(first.Rejected.GetValueOrDefault(SelfInstruct.Similar) > 0);
        var rows = File.ReadAllLines(output).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(["Describe how a rocket engine works, step by step.", "Describe how photosynthesis in plants works, step by step."], rows.Select(r => (string)r["prompt"]!));
        Assert.All(rows, r => Assert.InRange((double)r["similarity"]!, 0, 0.7));
        // The prompts file is a prompt file the loop reads.
        Assert.Equal(2, SelfAlign.Data.PromptFile.Read(output).Count);

        // Asked for more, a second run appends: what was written stays, rounds go on from the last.
        var more = SelfInstruct.Run(model, seeds, output, new SelfInstructOptions(Count: 3, Seed: 3, BatchRows: 2, MaxRounds: 20));
        Assert.Equal(3, more.Total);
        Assert.Equal(rows.Select(r => (string)r["prompt"]!), File.ReadAllLines(output)[..2].Select(l => (string)JsonNode.Parse(l)!["prompt"]!));
        Assert.True((int)JsonNode.Parse(File.ReadAllLines(output)[2])!["round"]! > (int)rows[1]["round"]!);
    }

    [Fact]
    public void Prompts_of_earlier_runs_are_demonstrations_and_are_not_written_again()
    {
        var prompts = new List<string>();
        var model = new ScriptedModel(TestModels.Tokenizer("smollm2"))
        {
            Completion = (prompt, _) =>
            {
                prompts.Add(prompt);
                return prompts.Count == 1 ? " Describe how a rocket engine works, step by step." : " Describe how a jet engine works in five short steps.";
            },
        };
        string[] seeds = ["Write a short poem about autumn leaves.", "Give three tips for learning a language.", "Summarize the plot of a famous novel."];
        string[] earlier = ["Describe how a rocket engine works, step by step please."];
        var run = SelfInstruct.Run(model, seeds, Path.Combine(_dir, "next.jsonl"), new SelfInstructOptions(Count: 1, Seed: 1, BatchRows: 1), earlier: earlier);
        Assert.Equal(1, run.Rejected[SelfInstruct.Similar]);
        Assert.Equal("Describe how a jet engine works in five short steps.", (string)JsonNode.Parse(File.ReadAllLines(Path.Combine(_dir, "next.jsonl"))[0])!["prompt"]!);
        // Three seeds and the one earlier prompt make up each request: eight wanted, four there.
        Assert.All(prompts, p => Assert.Contains("Task 4:", p));
        Assert.All(prompts, p => Assert.Contains(earlier[0], p));
    }
}
