using SelfAlign.Judging;
using Xunit;

namespace SelfAlign.Tests.Judging;

/// <summary>Every judge formula against closed-form values, through a scripted model.</summary>
public sealed class JudgeFormulaTests
{
    readonly ScriptedModel _model = new(TestModels.Tokenizer("smollm2"));

    [Fact]
    public void Label_variants_resolve_to_the_vocabulary_ids()
    {
        var tokenizer = TestModels.Tokenizer("smollm2");
        var yes = LabelTokens.Resolve(tokenizer, "Yes", LabelVariants.Space);
        Assert.Equal(["Yes", " Yes"], yes.Spellings);
        Assert.Equal([10539, 9230], yes.Ids);
        Assert.Equal([5230, 2838], LabelTokens.Resolve(tokenizer, "No", LabelVariants.Space).Ids);
        Assert.Equal([10539], LabelTokens.Resolve(tokenizer, "Yes", LabelVariants.Exact).Ids);
        var all = LabelTokens.Resolve(tokenizer, "No", LabelVariants.SpaceAndCase);
        Assert.Contains("no", all.Spellings);
        Assert.Throws<ArgumentException>(() => LabelTokens.Resolve(tokenizer, "Supercalifragilistic", LabelVariants.Exact));
    }

    [Fact]
    public void Yes_no_score_sums_variants_and_normalizes()
    {
        var model = new ScriptedModel(TestModels.Tokenizer("smollm2"))
        {
            NextToken = text => text.Contains("good answer")
                ? new Dictionary<int, double> { [_model.Id("Yes")] = Math.Log(0.2), [_model.Id(" Yes")] = Math.Log(0.1), [_model.Id("No")] = Math.Log(0.05), [_model.Id(" no")] = Math.Log(0.05) }
                : new Dictionary<int, double> { [_model.Id(" Yes")] = Math.Log(0.01), [_model.Id(" No")] = Math.Log(0.03) },
        };
        var judge = new YesNoJudge(model, new YesNoOptions(JudgePromptSet.IpoEvaluation));
        var scores = judge.Score([new JudgeItem("Q?", "a good answer"), new JudgeItem("Q?", "a bad answer")]);
        Assert.Equal(0.3, scores[0].PYes, 6);
        Assert.Equal(0.1, scores[0].PNo, 6);
        Assert.Equal(0.4, scores[0].Mass, 6);
        Assert.Equal(0.75, scores[0].Score, 6);
        Assert.Equal(0.25, scores[1].Score, 6);
        Assert.Equal(0.04, scores[1].Mass, 6);
    }

    [Fact]
    public void Yes_no_request_uses_the_category_or_subset_prompt_and_the_chosen_layout()
    {
        var chat = new YesNoJudge(_model, new YesNoOptions(JudgePromptSet.IpoEvaluation));
        Assert.StartsWith(JudgePromptSet.IpoEvaluation.ByCategory["code"], chat.Request(new JudgeItem("Q", "R", "code")));
        Assert.StartsWith(JudgePromptSet.IpoEvaluation.BySubset["refusals-dangerous"], chat.Request(new JudgeItem("Q", "R", "safety", "refusals-dangerous")));
        var plain = new YesNoJudge(_model, new YesNoOptions(JudgePromptSet.IpoDpo, JudgeFormat.Plain));
        Assert.Equal(JudgePromptSet.IpoDpo.ByCategory["chat"] + "\n    User : Q\n    Response : R\n    ", plain.Request(new JudgeItem("Q", "R")));
        // Chat format: the request is the user turn, and the assistant header follows.
        string text = _model.Tokenizer.Decode(chat.Input(new JudgeItem("Q", "R")));
        Assert.EndsWith("<|im_start|>assistant\n", text);
        Assert.Contains("<|im_start|>user\n" + JudgePromptSet.IpoEvaluation.ByCategory["chat"], text);
        // Plain layout: a forced answer starts on its own line, as after the chat template's assistant header.
        var renderer = new JudgeRenderer(_model, JudgeFormat.Plain);
        Assert.EndsWith("\"RESPONSE B\".\nRESPONSE", _model.Tokenizer.Decode(renderer.Ids(PairwiseJudge.Request("Q", "a", "b"), PairwiseJudge.AnswerPrefix)));
        // Special-token text inside the data stays text.
        var smuggled = chat.Input(new JudgeItem("Q", "<|im_end|>"));
        Assert.Equal(chat.Input(new JudgeItem("Q", "R")).Count(t => t == _model.Id("<|im_end|>")), smuggled.Count(t => t == _model.Id("<|im_end|>")));
    }

    [Fact]
    public void The_IPO_authors_setting_is_their_code_prompt_for_prompt_with_a_cut_at_1024_tokens()
    {
        var options = YesNoOptions.IpoAuthors;
        var judge = new YesNoJudge(_model, options);
        // Their prompt per subset, verbatim (no final period here, unlike the paper's table), and alpacaeval-easy's for the rest.
        const string code = "Below is a coding-related question along with a response containing code. Your task is to verify whether the provided code is correct, functional, and aligned with the requirements of the question. Answer with just Yes/No";
        Assert.Equal(code + "\n    User : Q\n    Response : R\n    ", judge.Request(new JudgeItem("Q", "R", "code", "hep-rust")));
        Assert.StartsWith("Is the response both complete and accurate according to the instruction? Answer just Yes/No.\n", judge.Request(new JudgeItem("Q", "R", "chat", "llmbar-natural")));
        Assert.StartsWith("Below is a question and its response. Assess if the response is helpful and correct. Answer just Yes/No\n", judge.Request(new JudgeItem("Q", "R", "math", "gsm8k")));
        // " Yes" and " No" as the tokenizer encodes them; nothing else counts.
        Assert.Equal([9230], judge.Yes.Ids);
        Assert.Equal([2838], judge.No.Ids);
        // Their tokenizer call keeps the first 1,024 tokens, so a long response loses its end.
        var item = new JudgeItem("Q", string.Join(" ", Enumerable.Repeat("word", 3000)), "chat", "alpacaeval-easy");
        var full = new YesNoJudge(_model, options with { MaxInputTokens = null }).Input(item);
        Assert.True(full.Count > 1024);
        Assert.Equal(full.Take(1024), judge.Input(item));
    }

    [Theory]
    [InlineData("Good answer. Score: 4", 4)]
    [InlineData("score: 3/5", 3)]
    [InlineData("Score: **5**", 5)]
    [InlineData("“Score: 2”", 2)]
    [InlineData("Score: 1 ... on reflection Score: 0", 0)]
    [InlineData("Score: 4 out of 5", 4)]
    [InlineData("Score: 4.0", 4)]
    [InlineData("Score: 3.5", null)]
    [InlineData("Score: 7", null)]
    [InlineData("Score: 8/10", null)]
    [InlineData("Score: -1", null)]
    [InlineData("I would give it four points.", null)]
    [InlineData("", null)]
    [InlineData("Score: 5 then Score: 9", null)]
    public void Score_parser_reads_the_last_score_and_rejects_the_rest(string judgment, int? expected) =>
        Assert.Equal(expected, ScoreParser.Parse(judgment));

    [Fact]
    public void Additive_judge_averages_parsed_scores_and_counts_failures()
    {
        var model = new ScriptedModel(TestModels.Tokenizer("smollm2"))
        {
            Completion = (prompt, sample) => prompt.Contains("<response>first</response>")
                ? new[] { "Fine. Score: 4", "Score: 3", "no idea" }[sample]
                : "rambling without a number",
        };
        var judge = new AdditiveJudge(model, new AdditiveOptions(Samples: 3));
        var scores = judge.Score([new JudgeItem("Q", "first"), new JudgeItem("Q", "second")]);
        Assert.Equal([4, 3, null], scores[0].Scores);
        Assert.Equal(3.5, scores[0].Mean);
        Assert.Equal(1, scores[0].Failures);
        Assert.Null(scores[1].Mean);
        Assert.Equal(3, scores[1].Failures);
    }

    [Fact]
    public void Pairwise_judge_averages_both_orders_and_calibrates_strength()
    {
        // Position bias: A gets extra weight; "strong" is better than "weak".
        var model = new ScriptedModel(TestModels.Tokenizer("smollm2"))
        {
            NextToken = text =>
            {
                bool strongFirst = text.IndexOf("RESPONSE A: strong", StringComparison.Ordinal) >= 0;
                double pa = strongFirst ? 0.9 : 0.5, pb = strongFirst ? 0.1 : 0.5;
                return new Dictionary<int, double> { [_model.Id(" A")] = Math.Log(pa * 0.5), [_model.Id(" B")] = Math.Log(pb * 0.5) };
            },
        };
        var judge = new PairwiseJudge(model);
        var s = judge.Compare([new PairwiseItem("Q", "strong", "weak")])[0];
        Assert.Equal(0.9, s.FirstAsA, 6);
        Assert.Equal(0.5, s.FirstAsB, 6);
        Assert.Equal(0.7, s.Preference, 6);
        Assert.True(s.FirstWins);
        Assert.Equal(0.7, s.Strength, 6);
        Assert.Equal(0.5, s.MassAsA, 6);
        Assert.Equal(0.7, s.CalibratedStrength(0.5), 6);
        Assert.Equal(0.85, s.CalibratedStrength(0.75), 6);   // 0.75 + 0.2 * 0.25 / 0.5
        Assert.Equal(1.0, s.CalibratedStrength(1.0), 6);
        Assert.Throws<ArgumentOutOfRangeException>(() => s.CalibratedStrength(0.4));
        var reversed = judge.Compare([new PairwiseItem("Q", "weak", "strong")])[0];
        Assert.Equal(0.3, reversed.Preference, 6);
        Assert.False(reversed.FirstWins);
        Assert.Equal(0.7, reversed.Strength, 6);
        // The judge reads the token after the forced "RESPONSE" prefix.
        Assert.All(model.Seen, t => Assert.EndsWith("<|im_start|>assistant\nRESPONSE", t));
    }

    [Fact]
    public void Ties_count_half_or_wrong()
    {
        Assert.Equal(1, Outcome.Of(0.6, 0.5, TieRule.Half));
        Assert.Equal(0, Outcome.Of(0.4, 0.5, TieRule.Wrong));
        Assert.Equal(0.5, Outcome.Of(0.5, 0.5, TieRule.Half));
        Assert.Equal(0, Outcome.Of(0.5, 0.5, TieRule.Wrong));
    }

    [Fact]
    public void Categorizer_normalizes_over_the_four_names()
    {
        var model = new ScriptedModel(TestModels.Tokenizer("smollm2"))
        {
            NextToken = text => text.Contains("Instruction: Write a sort function")
                ? new Dictionary<int, double> { [_model.Id(" code")] = Math.Log(0.3), [_model.Id(" Code")] = Math.Log(0.1), [_model.Id(" chat")] = Math.Log(0.1) }
                : new Dictionary<int, double> { [_model.Id(" math")] = Math.Log(0.2) },
        };
        var guesses = new Categorizer(model).Categorize(["Write a sort function", "What is 17 * 23?"]);
        Assert.Equal("code", guesses[0].Category);
        Assert.Equal(0.8, guesses[0].Probabilities["code"], 4);
        Assert.Equal(0.2, guesses[0].Probabilities["chat"], 4);
        Assert.Equal(0.5, guesses[0].Mass, 4);
        Assert.Equal("math", guesses[1].Category);
        Assert.All(model.Seen, t => Assert.EndsWith("assistant\nCategory:", t));
    }

    [Fact]
    public void Prompt_selection_keeps_the_most_accurate_candidate()
    {
        // Candidate "careful" prefers the chosen response; "sloppy" prefers the rejected one.
        var model = new ScriptedModel(TestModels.Tokenizer("smollm2"))
        {
            NextToken = text =>
            {
                bool good = text.Contains("Response : right");
                bool careful = text.Contains("careful");
                double yes = careful == good ? 0.8 : 0.2;
                return new Dictionary<int, double> { [_model.Id("Yes")] = Math.Log(yes), [_model.Id("No")] = Math.Log(1 - yes) };
            },
        };
        var sample = Enumerable.Range(0, 4).Select(i => new LabeledPair($"Q{i}", "right", "wrong", "chat")).ToArray();
        var (results, chosen) = PromptSelection.Run(model,
            new Dictionary<string, IReadOnlyList<string>> { ["chat"] = ["Be sloppy. Yes/No.", "Be careful. Yes/No."], ["code"] = ["unused"] }, sample);
        Assert.Equal(2, results.Count);
        Assert.Equal(0.0, results[0].Accuracy);
        Assert.Equal(1.0, results[1].Accuracy);
        Assert.Equal("Be careful. Yes/No.", chosen.For("chat", null));
        // No pair of code was in the sample, so no code prompt was chosen: code takes the chat prompt.
        Assert.Contains("code", chosen.MissingCategories);
        Assert.Equal("Be careful. Yes/No.", chosen.For("code", null));
    }
}
