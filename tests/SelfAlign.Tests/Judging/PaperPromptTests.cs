using System.Text.Json;
using System.Text.RegularExpressions;
using SelfAlign.Judging;
using Xunit;

namespace SelfAlign.Tests.Judging;

/// <summary>The shipped judge prompts against the papers' own text (tests/fixtures/papers/prompts.json, taken from the papers).</summary>
public sealed partial class PaperPromptTests
{
    static readonly JsonElement Paper = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestModels.Fixtures, "papers", "prompts.json"))).RootElement;

    static string Text(string section, string? key = null) => (key is null ? Paper.GetProperty(section) : Paper.GetProperty(section).GetProperty(key)).GetString()!;

    /// <summary>Line breaks do not survive the papers' text extraction, so both sides compare with whitespace collapsed.</summary>
    static string Flat(string s) => Spaces().Replace(s, " ").Trim();

    [Fact]
    public void Ipo_prompts_are_the_papers_tables_7_and_8()
    {
        foreach (string category in new[] { "chat", "code", "math", "safety" })
        {
            Assert.Equal(Text("ipo_eval", category), JudgePromptSet.IpoEvaluation.ByCategory[category]);
            Assert.Equal(Text("ipo_dpo", category), JudgePromptSet.IpoDpo.ByCategory[category]);
        }
        Assert.Equal(Text("ipo_eval", "safety_refusal"), JudgePromptSet.IpoEvaluation.BySubset["refusals-dangerous"]);
    }

    [Fact]
    public void Additive_prompt_is_the_self_rewarding_papers_figure_2()
    {
        string ours = AdditiveJudge.Prompt.Replace("{instruction}", "<INSTRUCTION_HERE>").Replace("<response>{response}</response>", "<response> <RESPONSE_HERE> </response>");
        Assert.Equal(Flat(Text("self_rewarding_additive")), Flat(ours));
    }

    [Fact]
    public void Pairwise_prompt_is_the_pso_papers_figure_2_with_its_answer_forced()
    {
        // The figure holds a "<1-shot example>" placeholder whose example the paper never prints, and ends with the
        // answer "RESPONSE <A/B>", which the judge forces up to the label it reads.
        string paper = Text("pso_pairwise").Replace("<1-shot example>", "").Replace("****", "**");
        Assert.EndsWith(" RESPONSE <A/B>", paper);
        paper = paper[..^" RESPONSE <A/B>".Length];
        string ours = PairwiseJudge.Prompt.Replace("{instruction}", "<User's Question>").Replace("{a}", "<Response A>").Replace("{b}", "<Response B>");
        Assert.Equal(Flat(paper), Flat(ours));
        Assert.Equal("RESPONSE", PairwiseJudge.AnswerPrefix);
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Spaces();
}
