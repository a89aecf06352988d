using SelfAlign.Inference;

namespace SelfAlign.Judging;

/// <summary>Two responses to one instruction, to compare.</summary>
public sealed record PairwiseItem(string Instruction, string First, string Second);

/// <summary>
/// A pairwise judgment in both orders. Each probability is that of picking <c>First</c>,
/// normalized over the two judgment tokens.
/// </summary>
/// <param name="FirstAsA">P(A) / (P(A) + P(B)) with First shown as RESPONSE A.</param>
/// <param name="FirstAsB">P(B) / (P(A) + P(B)) with First shown as RESPONSE B.</param>
/// <param name="MassAsA">P(A) + P(B) over the whole vocabulary in the first order.</param>
/// <param name="MassAsB">The same in the swapped order.</param>
public sealed record PairwiseScore(double FirstAsA, double FirstAsB, double MassAsA, double MassAsB)
{
    /// <summary>p(First ≻ Second): the two orders averaged, which cancels position bias (PSO Eq. 2-3).</summary>
    public double Preference => (FirstAsA + FirstAsB) / 2;
    /// <summary>True when First is preferred (ties, p = 0.5, go to First as in the paper).</summary>
    public bool FirstWins => Preference >= 0.5;
    /// <summary>The preference strength of the winner, in [0.5, 1].</summary>
    public double Strength => Math.Max(Preference, 1 - Preference);
    /// <summary>The strength after PSO's linear calibration (Eq. 4); eta = 0.5 leaves it unchanged.</summary>
    public double CalibratedStrength(double eta) => PairwiseJudge.Calibrate(Strength, eta);
}

/// <summary>
/// The PSO generative preference model: the model reads the instruction and two responses and is
/// made to answer "RESPONSE " followed by A or B; the probability of each judgment token, read
/// in both orders, gives the preferred response and how strongly it is preferred.
/// </summary>
public sealed class PairwiseJudge
{
    /// <summary>The prompt of the PSO paper (Figure 2), without its one-shot example.</summary>
    public const string Prompt =
        "Select the RESPONSE A or RESPONSE B that is better for the given instruction. Here are some rules of the evaluation:\n" +
        "- (1) You should prioritize evaluating whether the response honestly/precisely/closely executes the instruction, then consider its helpfulness, accuracy, level of detail, harmlessness, etc.\n" +
        "- (2) Responses should NOT contain more/less than what the instruction asks for, as such responses do NOT precisely execute the instruction.\n" +
        "- (3) You should avoid any potential bias and your judgment should be as objective as possible. For example, the order in which the responses were presented should NOT affect your judgment, as RESPONSE A and RESPONSE B are **equally likely** to be the better.\n" +
        "\n" +
        "Do NOT provide any explanation for your choice.\n" +
        "Do NOT say both / neither are good. You should answer using ONLY \"RESPONSE A\" or \"RESPONSE B\".\n" +
        "Do NOT output any other words.\n" +
        "\n" +
        "Instruction: {instruction}\n" +
        "\n" +
        "RESPONSE A: {a}\n" +
        "\n" +
        "RESPONSE B: {b}\n" +
        "\n" +
        "Which is better, RESPONSE A or RESPONSE B? Your response should be either \"RESPONSE A\" or \"RESPONSE B\".";

    /// <summary>The start of the answer the judge forces; the next token is the judgment.</summary>
    public const string AnswerPrefix = "RESPONSE";

    readonly ILanguageModel _model;
    readonly JudgeRenderer _renderer;

    /// <summary>Resolves the judgment tokens (A and B, with and without a leading space).</summary>
    public PairwiseJudge(ILanguageModel model, JudgeFormat format = JudgeFormat.Chat)
    {
        _model = model;
        _renderer = new JudgeRenderer(model, format);
        A = LabelTokens.Resolve(model.Tokenizer, "A", LabelVariants.Space);
        B = LabelTokens.Resolve(model.Tokenizer, "B", LabelVariants.Space);
    }

    /// <summary>The spellings read as A.</summary>
    public LabelTokens A { get; }
    /// <summary>The spellings read as B.</summary>
    public LabelTokens B { get; }

    /// <summary>The request text with <paramref name="a"/> in slot A and <paramref name="b"/> in slot B.</summary>
    public static string Request(string instruction, string a, string b) =>
        Prompt.Replace("{instruction}", instruction).Replace("{a}", a).Replace("{b}", b);

    /// <summary>Judges every pair in both orders; <paramref name="onProgress"/> hears how many orders finished.</summary>
    public IReadOnlyList<PairwiseScore> Compare(IReadOnlyList<PairwiseItem> items, Action<int>? onProgress = null)
    {
        var inputs = items.SelectMany(it => new[]
        {
            _renderer.Ids(Request(it.Instruction, it.First, it.Second), AnswerPrefix),
            _renderer.Ids(Request(it.Instruction, it.Second, it.First), AnswerPrefix),
        }).ToArray();
        var lp = LabelScorer.LogProbs(_model, inputs, [A, B], onProgress);
        return items.Select((_, i) =>
        {
            double[] asA = lp[2 * i], asB = lp[2 * i + 1];
            return new PairwiseScore(LabelScorer.Share(asA[0], asA[1]), LabelScorer.Share(asB[1], asB[0]),
                Math.Exp(asA[0]) + Math.Exp(asA[1]), Math.Exp(asB[0]) + Math.Exp(asB[1]));
        }).ToArray();
    }

    /// <summary>PSO's calibration s ← η + (s − 0.5)(1 − η)/0.5, η in [0.5, 1].</summary>
    public static double Calibrate(double strength, double eta)
    {
        if (eta is < 0.5 or > 1) throw new ArgumentOutOfRangeException(nameof(eta), eta, "eta must be in [0.5, 1]");
        return eta + (strength - 0.5) * (1 - eta) / 0.5;
    }
}
