using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using SelfAlign.Data;

namespace SelfAlign.Evaluation;

/// <summary>An MT-Bench question: two user turns, and the reference answers of its turns where its category is graded against them.</summary>
/// <param name="Id">FastChat's <c>question_id</c>.</param>
/// <param name="Category">writing, roleplay, reasoning, math, coding, extraction, stem or humanities.</param>
/// <param name="Turns">The user turns.</param>
/// <param name="Reference">The reference answer of each turn, or null.</param>
public sealed record MtBenchQuestion(int Id, string Category, IReadOnlyList<string> Turns, IReadOnlyList<string>? Reference);

/// <summary>A graded answer.</summary>
/// <param name="QuestionId">The question.</param>
/// <param name="Category">Its category.</param>
/// <param name="Turn">1 or 2.</param>
/// <param name="Rating">The judge's rating, or null when its judgment gave none.</param>
/// <param name="AnswerLength">The answer's characters.</param>
public sealed record MtBenchScore(int QuestionId, string Category, int Turn, double? Rating, int AnswerLength);

/// <summary>The mean rating of some graded answers.</summary>
/// <param name="Mean">The mean of the ratings given, or null when none was.</param>
/// <param name="Rated">Answers with a rating.</param>
/// <param name="Failures">Answers whose judgment gave none.</param>
/// <param name="MeanAnswerLength">Mean characters of the answers.</param>
public sealed record MtBenchPart(double? Mean, int Rated, int Failures, double MeanAnswerLength);

/// <summary>A single-answer judge prompt of FastChat's <c>judge_prompts.jsonl</c>.</summary>
/// <param name="Name">single-v1, single-math-v1, single-v1-multi-turn or single-math-v1-multi-turn.</param>
/// <param name="System">The system message.</param>
/// <param name="Template">The user message with <c>{question}</c>, <c>{answer}</c>, <c>{ref_answer_1}</c>, ... placeholders.</param>
public sealed record MtBenchJudgePrompt(string Name, string System, string Template);

/// <summary>
/// MT-Bench single-answer grading as FastChat's <c>llm_judge</c> does it: answers sampled at each
/// category's temperature, the judge's prompt by category and turn (math, reasoning and coding read
/// against reference answers), and the rating taken from the first <c>[[n]]</c> of the judgment
/// (else the first <c>[n]</c>); a judgment without one is a failure, left out of the means.
/// </summary>
public static partial class MtBench
{
    /// <summary>The categories graded against reference answers.</summary>
    public static readonly IReadOnlySet<string> NeedsReference = new HashSet<string> { "math", "reasoning", "coding" };

    /// <summary>FastChat's answer temperature per category (0.7 for one it does not list).</summary>
    public static double Temperature(string category) => category switch
    {
        "writing" or "roleplay" => 0.7,
        "extraction" or "math" or "coding" or "reasoning" => 0.0,
        "stem" or "humanities" => 0.1,
        _ => 0.7,
    };

    /// <summary>Reads the questions and, for the categories that need them, their reference answers (FastChat's answer format).</summary>
    public static List<MtBenchQuestion> Read(string questions, string? references)
    {
        var answers = new Dictionary<int, string[]>();
        if (references is not null)
            foreach (var row in Jsonl.Read(references))
            {
                var choices = row.Field("choices");
                if (choices.ValueKind != JsonValueKind.Array || choices.GetArrayLength() == 0 || !choices[0].TryGetProperty("turns", out var turns) ||
                    turns.ValueKind != JsonValueKind.Array)
                    throw row.Error("'choices' must be a list whose first item has 'turns'");
                answers[row.Int("question_id")] = [.. turns.EnumerateArray().Select(t => t.GetString() ?? throw row.Error("'turns' must hold strings"))];
            }
        var list = new List<MtBenchQuestion>();
        foreach (var row in Jsonl.Read(questions))
        {
            int id = row.Int("question_id");
            string category = row.String("category");
            var turns = row.Field("turns");
            if (turns.ValueKind != JsonValueKind.Array || turns.GetArrayLength() == 0 || turns.EnumerateArray().Any(t => t.ValueKind != JsonValueKind.String))
                throw row.Error("'turns' must be a list of strings");
            string[]? reference = null;
            if (NeedsReference.Contains(category))
                reference = answers.TryGetValue(id, out var r) ? r
                    : throw row.Error($"a {category} question is graded against a reference answer; none for question {id} in {references ?? "(no reference file)"}");
            list.Add(new MtBenchQuestion(id, category, [.. turns.EnumerateArray().Select(t => t.GetString()!)], reference));
        }
        if (list.Count == 0) throw new DataFormatException(questions, 1, "no questions");
        return list;
    }

    /// <summary>Reads FastChat's judge prompts, by name.</summary>
    public static Dictionary<string, MtBenchJudgePrompt> ReadPrompts(string file) =>
        Jsonl.Read(file).Select(r => new MtBenchJudgePrompt(r.String("name"), r.String("system_prompt"), r.String("prompt_template"))).ToDictionary(p => p.Name);

    /// <summary>The name of the prompt that grades <paramref name="turn"/> (1 or 2) of a question in <paramref name="category"/>.</summary>
    public static string PromptName(string category, int turn) =>
        (NeedsReference.Contains(category) ? "single-math-v1" : "single-v1") + (turn > 1 ? "-multi-turn" : "");

    /// <summary>The judge's system and user messages for <paramref name="turn"/> of <paramref name="question"/> with the policy's <paramref name="answers"/>.</summary>
    public static (string System, string User) JudgeMessages(IReadOnlyDictionary<string, MtBenchJudgePrompt> prompts, MtBenchQuestion question, int turn,
        IReadOnlyList<string> answers)
    {
        string name = PromptName(question.Category, turn);
        var prompt = prompts.TryGetValue(name, out var p) ? p : throw new ArgumentException($"the judge prompts have no '{name}'");
        var values = new Dictionary<string, string>();
        if (turn == 1)
        {
            values["question"] = question.Turns[0];
            values["answer"] = answers[0];
        }
        else
            for (int k = 0; k < 2; k++)
            {
                values[$"question_{k + 1}"] = question.Turns[k];
                values[$"answer_{k + 1}"] = answers[k];
            }
        for (int k = 0; question.Reference is { } reference && k < Math.Min(turn, reference.Count); k++) values[$"ref_answer_{k + 1}"] = reference[k];
        // One pass, as Python's str.format does: a placeholder inside an answer stays as it is.
        string user = Placeholder().Replace(prompt.Template, m => values.TryGetValue(m.Groups[1].Value, out var v) ? v
            : throw new ArgumentException($"the judge prompt '{name}' needs {{{m.Groups[1].Value}}}, which question {question.Id} turn {turn} does not give"));
        return (prompt.System, user);
    }

    /// <summary>The rating of a judgment: the first <c>[[n]]</c>, else the first <c>[n]</c>; null when there is neither.</summary>
    public static double? Rating(string judgment)
    {
        var m = DoubleBracket().Match(judgment);
        if (!m.Success) m = SingleBracket().Match(judgment);
        return m.Success ? double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : null;
    }

    /// <summary>The mean rating, counts and mean answer length of <paramref name="scores"/>.</summary>
    public static MtBenchPart Summarize(IEnumerable<MtBenchScore> scores)
    {
        var list = scores.ToList();
        var rated = list.Where(s => s.Rating is not null).Select(s => s.Rating!.Value).ToList();
        return new MtBenchPart(rated.Count == 0 ? null : rated.Average(), rated.Count, list.Count - rated.Count,
            list.Count == 0 ? double.NaN : list.Average(s => s.AnswerLength));
    }

    [GeneratedRegex(@"\{(\w+)\}")]
    private static partial Regex Placeholder();

    [GeneratedRegex(@"\[\[(\d+\.?\d*)\]\]")]
    private static partial Regex DoubleBracket();

    [GeneratedRegex(@"\[(\d+\.?\d*)\]")]
    private static partial Regex SingleBracket();
}
