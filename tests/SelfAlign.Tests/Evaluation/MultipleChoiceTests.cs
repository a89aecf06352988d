using SelfAlign.Evaluation;
using SelfAlign.Tests.Judging;
using Xunit;

namespace SelfAlign.Tests.Evaluation;

/// <summary>Multiple choice as lm-evaluation-harness scores it: the token split, acc and acc_norm, and the question file.</summary>
public sealed class MultipleChoiceTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("selfalign-choice-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void The_contexts_trailing_whitespace_moves_to_the_continuation()
    {
        var tokenizer = TestModels.Tokenizer("smollm2");
        var (context, continuation) = MultipleChoice.Encode(tokenizer, "Question: Capital of France?\nAnswer: ", " Paris");
        Assert.Equal(tokenizer.Encode("Question: Capital of France?\nAnswer:"), context);
        Assert.Equal(tokenizer.Encode("Question: Capital of France?\nAnswer:  Paris")[context.Count..], continuation);
        Assert.Equal("  Paris", tokenizer.Decode(continuation));
    }

    [Fact]
    public void Acc_takes_the_most_likely_choice_and_acc_norm_the_most_likely_per_character()
    {
        var item = new ChoiceItem("q", "Pick:", ["a", "bbbbbb", "cc"], 1, null);
        var result = new ChoiceResult(item, [-10, -12, -20]);
        Assert.Equal(0, result.Predicted);
        Assert.Equal(1, result.PredictedNormalized); // -10 / 1, -12 / 6 = -2, -20 / 2
        Assert.Equal(0, new ChoiceResult(item, [-3, -3, -9]).Predicted); // a tie goes to the first, as np.argmax
    }

    [Fact]
    public void Each_choice_is_scored_as_the_delimiter_and_the_choice_after_the_context()
    {
        var seen = new List<(string, string)>();
        var model = new ScriptedModel(TestModels.Tokenizer("smollm2"))
        {
            LogProb = (prompt, completion) =>
            {
                seen.Add((prompt, completion));
                return completion == " blue" ? -1 : -5;
            },
        };
        var items = new[] { new ChoiceItem("q1", "The sky is", ["green", "blue"], 1, "color") };
        var result = MultipleChoice.Score(model, items).Single();
        Assert.Equal([("The sky is", " green"), ("The sky is", " blue")], seen);
        Assert.Equal((1, 1), (result.Predicted, result.PredictedNormalized));
    }

    [Theory]
    [InlineData("{\"id\": \"q\", \"context\": \"x\", \"choices\": [\"a\", \"b\"], \"answer\": 2}", "'answer' 2 is not the index")]
    [InlineData("{\"id\": \"q\", \"context\": \"x\", \"choices\": [\"a\"], \"answer\": 0}", "at least two")]
    [InlineData("{\"id\": \"q\", \"context\": \"\", \"choices\": [\"a\", \"b\"], \"answer\": 0}", "'context' is empty")]
    public void Bad_rows_are_named_by_line(string row, string why)
    {
        string file = Path.Combine(_dir, "q.jsonl");
        File.WriteAllLines(file, ["{\"id\": \"ok\", \"context\": \"x\", \"choices\": [\"a\", \"b\"], \"answer\": 0}", row]);
        var error = Assert.Throws<SelfAlign.Data.DataFormatException>(() => MultipleChoice.Read(file));
        Assert.Contains("q.jsonl:2", error.Message);
        Assert.Contains(why, error.Message);
    }
}
