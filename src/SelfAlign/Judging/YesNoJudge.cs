using SelfAlign.Inference;

namespace SelfAlign.Judging;

/// <summary>Settings of the yes/no judge.</summary>
/// <param name="Prompts">The instructions per category (and subset).</param>
/// <param name="Format">Through the chat template, or the IPO authors' plain layout.</param>
/// <param name="Variants">Which spellings of Yes and No are summed.</param>
/// <param name="MaxInputTokens">Keep only the first this many tokens of each input (the IPO authors truncate at 1,024); null keeps all.</param>
public sealed record YesNoOptions(JudgePromptSet Prompts, JudgeFormat Format = JudgeFormat.Chat, LabelVariants Variants = LabelVariants.SpaceAndCase,
    int? MaxInputTokens = null)
{
    /// <summary>
    /// The IPO authors' evaluation setting (their <c>Preference_Comparison/Reward_Bench/ours.py</c>): their
    /// prompt per RewardBench subset, the plain layout, " Yes" and " No" as the tokenizer encodes them,
    /// inputs cut after 1,024 tokens. Their comparison is strict: score it with <see cref="TieRule.Wrong"/>.
    /// </summary>
    public static YesNoOptions IpoAuthors { get; } = new(JudgePromptSet.IpoAuthors, JudgeFormat.Plain, LabelVariants.Encoded, 1024);
}

/// <summary>A yes/no judgment of one response.</summary>
/// <param name="PYes">p(Yes) over the whole vocabulary, spellings summed.</param>
/// <param name="PNo">p(No), likewise.</param>
/// <param name="Score">p(Yes) / (p(Yes) + p(No)): higher is better.</param>
public sealed record YesNoScore(double PYes, double PNo, double Score)
{
    /// <summary>How much of the next-token distribution the two labels covered: a low mass means the model wanted to say something else.</summary>
    public double Mass => PYes + PNo;
}

/// <summary>
/// The IPO judge: the model reads a category instruction, the question and the response, and the
/// probability that its next token is "Yes" rather than "No" is the response's score. One forward
/// pass per response; the engine shares the instruction's prefix across responses.
/// </summary>
public sealed class YesNoJudge
{
    readonly ILanguageModel _model;
    readonly JudgeRenderer _renderer;

    /// <summary>Resolves the label spellings in the model's vocabulary.</summary>
    public YesNoJudge(ILanguageModel model, YesNoOptions options)
    {
        _model = model;
        Options = options;
        _renderer = new JudgeRenderer(model, options.Format);
        Yes = LabelTokens.Resolve(model.Tokenizer, "Yes", options.Variants);
        No = LabelTokens.Resolve(model.Tokenizer, "No", options.Variants);
    }

    /// <summary>The settings.</summary>
    public YesNoOptions Options { get; }
    /// <summary>The spellings read as Yes.</summary>
    public LabelTokens Yes { get; }
    /// <summary>The spellings read as No.</summary>
    public LabelTokens No { get; }

    /// <summary>The request text for one item, before templating.</summary>
    public string Request(JudgeItem item) => Request(Options, item);

    /// <summary>The request text the judge with <paramref name="options"/> writes for <paramref name="item"/> (to build judge-training data).</summary>
    public static string Request(YesNoOptions options, JudgeItem item)
    {
        string instruction = options.Prompts.For(item.Category, item.Subset);
        // Plain format: the IPO authors' exact layout, indentation included.
        return options.Format == JudgeFormat.Plain
            ? $"{instruction}\n    User : {item.Instruction}\n    Response : {item.Response}\n    "
            : $"{instruction}\nUser : {item.Instruction}\nResponse : {item.Response}";
    }

    /// <summary>Token ids the model reads for one item.</summary>
    public IReadOnlyList<int> Input(JudgeItem item)
    {
        var ids = _renderer.Ids(Request(item));
        return Options.MaxInputTokens is int n && ids.Count > n ? ids.Take(n).ToArray() : ids;
    }

    /// <summary>Scores every item; <paramref name="onProgress"/> hears how many finished.</summary>
    public IReadOnlyList<YesNoScore> Score(IReadOnlyList<JudgeItem> items, Action<int>? onProgress = null)
    {
        var inputs = items.Select(Input).ToArray();
        var logProbs = LabelScorer.LogProbs(_model, inputs, [Yes, No], onProgress);
        return logProbs.Select(lp => new YesNoScore(Math.Exp(lp[0]), Math.Exp(lp[1]), LabelScorer.Share(lp[0], lp[1]))).ToArray();
    }
}
