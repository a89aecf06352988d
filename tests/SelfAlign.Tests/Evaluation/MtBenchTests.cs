using SelfAlign.Evaluation;
using Xunit;

namespace SelfAlign.Tests.Evaluation;

/// <summary>MT-Bench grading against FastChat's rules and the shipped FastChat files.</summary>
public sealed class MtBenchTests
{
    static readonly string Data = Path.Combine(AppContext.BaseDirectory, "data", "mt-bench");

    [Theory]
    [InlineData("The answer is fine. Rating: [[7]]", 7.0)]
    [InlineData("Rating: [[8.5]] and later [[2]]", 8.5)]
    [InlineData("Rating: [[5.]]", 5.0)]
    [InlineData("I would give it [6] out of 10.", 6.0)]
    [InlineData("Rating: [[ten]]", null)]
    [InlineData("no rating here", null)]
    public void The_rating_is_the_first_double_bracketed_number_else_the_first_bracketed_one(string judgment, double? expected) =>
        Assert.Equal(expected, MtBench.Rating(judgment));

    [Fact]
    public void The_shipped_questions_read_with_references_for_math_reasoning_and_coding()
    {
        var questions = MtBench.Read(Path.Combine(Data, "question.jsonl"), Path.Combine(Data, "reference_answer_gpt-4.jsonl"));
        Assert.Equal(80, questions.Count);
        Assert.All(questions, q => Assert.Equal(2, q.Turns.Count));
        Assert.Equal(30, questions.Count(q => q.Reference is not null));
        Assert.All(questions.Where(q => q.Reference is not null), q => Assert.Contains(q.Category, MtBench.NeedsReference));
        Assert.Equal((0.7, 0.0, 0.1), (MtBench.Temperature("writing"), MtBench.Temperature("math"), MtBench.Temperature("stem")));
        var error = Assert.Throws<SelfAlign.Data.DataFormatException>(() => MtBench.Read(Path.Combine(Data, "question.jsonl"), null));
        Assert.Contains("reference answer", error.Message);
    }

    [Fact]
    public void Each_turn_is_graded_with_its_category_prompt()
    {
        var prompts = MtBench.ReadPrompts(Path.Combine(Data, "judge_prompts.jsonl"));
        var writing = new MtBenchQuestion(81, "writing", ["Write a poem.", "Make it shorter."], null);
        var (system, user) = MtBench.JudgeMessages(prompts, writing, 1, ["Roses are red {answer}."]);
        Assert.Equal("You are a helpful assistant.", system);
        Assert.Equal(prompts["single-v1"].Template.Replace("{question}", "Write a poem.").Replace("{answer}", "Roses are red {answer}."), user);
        // A placeholder inside an answer is text, not a slot (one pass, as str.format).
        Assert.Contains("Roses are red {answer}.", user);

        var math = new MtBenchQuestion(111, "math", ["What is 2+2?", "And 3+3?"], ["4", "6"]);
        var (_, second) = MtBench.JudgeMessages(prompts, math, 2, ["4", "7"]);
        Assert.Equal("single-math-v1-multi-turn", MtBench.PromptName("math", 2));
        Assert.Equal(prompts["single-math-v1-multi-turn"].Template.Replace("{question_1}", "What is 2+2?").Replace("{question_2}", "And 3+3?")
            .Replace("{answer_1}", "4").Replace("{answer_2}", "7").Replace("{ref_answer_1}", "4").Replace("{ref_answer_2}", "6"), second);
    }
}
