using SelfAlign.Inference;
using SelfAlign.Text;

namespace SelfAlign.Judging;

/// <summary>Settings of the additive 5-point judge.</summary>
/// <param name="Samples">Judgments drawn per response; their parsed scores are averaged.</param>
/// <param name="Sampling">How judgments are drawn (the paper: temperature 0.7, top-p 0.9).</param>
/// <param name="Seed">Base seed; each response's seed also depends on its text, so batching and resuming do not change it.</param>
public sealed record AdditiveOptions(int Samples = 3, SamplingOptions? Sampling = null, ulong Seed = 0)
{
    /// <summary>The sampling in effect.</summary>
    public SamplingOptions EffectiveSampling => Sampling ?? new SamplingOptions { Temperature = 0.7, TopP = 0.9, MaxNewTokens = 256 };
}

/// <summary>The additive judgments of one response.</summary>
/// <param name="Scores">Each judgment's parsed score, null where it had none.</param>
/// <param name="Judgments">The judgments' text.</param>
public sealed record AdditiveScore(IReadOnlyList<int?> Scores, IReadOnlyList<string> Judgments)
{
    /// <summary>Mean of the parsed scores; null when no judgment parsed.</summary>
    public double? Mean => Scores.Any(s => s is not null) ? Scores.Where(s => s is not null).Average(s => (double)s!.Value) : null;
    /// <summary>Judgments without a parsable score.</summary>
    public int Failures => Scores.Count(s => s is null);
}

/// <summary>
/// The Self-Rewarding judge: the model writes a short justification under the paper's additive
/// 5-point rubric and ends with "Score: N"; several sampled judgments are averaged.
/// </summary>
public sealed class AdditiveJudge(ILanguageModel model, AdditiveOptions? options = null)
{
    /// <summary>The prompt of the Self-Rewarding paper (Yuan et al. 2024, Figure 2).</summary>
    public const string Prompt =
        "Review the user’s question and the corresponding response using the additive 5-point\n" +
        "scoring system described below. Points are accumulated based on the satisfaction of each\n" +
        "criterion:\n" +
        "- Add 1 point if the response is relevant and provides some information related to\n" +
        "the user’s inquiry, even if it is incomplete or contains some irrelevant content.\n" +
        "- Add another point if the response addresses a substantial portion of the user’s question,\n" +
        "but does not completely resolve the query or provide a direct answer.\n" +
        "- Award a third point if the response answers the basic elements of the user’s question in a\n" +
        "useful way, regardless of whether it seems to have been written by an AI Assistant or if it\n" +
        "has elements typically found in blogs or search results.\n" +
        "- Grant a fourth point if the response is clearly written from an AI Assistant’s perspective,\n" +
        "addressing the user’s question directly and comprehensively, and is well-organized and\n" +
        "helpful, even if there is slight room for improvement in clarity, conciseness or focus.\n" +
        "- Bestow a fifth point for a response that is impeccably tailored to the user’s question\n" +
        "by an AI Assistant, without extraneous information, reflecting expert knowledge, and\n" +
        "demonstrating a high-quality, engaging, and insightful answer.\n" +
        "\n" +
        "User: {instruction}\n" +
        "<response>{response}</response>\n" +
        "\n" +
        "After examining the user’s instruction and the response:\n" +
        "- Briefly justify your total score, up to 100 words.\n" +
        "- Conclude with the score using the format: “Score: <total points>”\n" +
        "Remember to assess from the AI Assistant perspective, utilizing web search knowledge as\n" +
        "necessary. To evaluate the response in alignment with this additive scoring model, we’ll\n" +
        "systematically attribute points based on the outlined criteria.";

    readonly JudgeRenderer _renderer = new(model, JudgeFormat.Chat);

    /// <summary>The settings.</summary>
    public AdditiveOptions Options { get; } = options ?? new AdditiveOptions();

    /// <summary>The request text for one item.</summary>
    public static string Request(JudgeItem item) =>
        Prompt.Replace("{instruction}", item.Instruction).Replace("{response}", item.Response);

    /// <summary>Judges every item <see cref="AdditiveOptions.Samples"/> times; <paramref name="onTokens"/> hears generated tokens.</summary>
    public IReadOnlyList<AdditiveScore> Score(IReadOnlyList<JudgeItem> items, Action<int>? onTokens = null)
    {
        var requests = items.Select(item => new GenerationRequest(_renderer.Ids(Request(item)), Options.Samples,
            Options.Seed ^ StableHash.Of(item.Instruction + "\u0000" + item.Response))).ToArray();
        var texts = items.Select(_ => new string[Options.Samples]).ToArray();
        foreach (var c in model.Generate(requests, Options.EffectiveSampling, onTokens))
            texts[c.Request][c.Sample] = c.Text;
        return texts.Select(t => new AdditiveScore(t.Select(ScoreParser.Parse).ToArray(), t)).ToArray();
    }
}
