using SelfAlign.Inference;

namespace SelfAlign.Judging;

/// <summary>The model's guess of an instruction's category.</summary>
/// <param name="Category">The most likely category.</param>
/// <param name="Probabilities">Each category's probability, normalized over the four names.</param>
/// <param name="Mass">How much of the next-token distribution the four names covered.</param>
public sealed record CategoryGuess(string Category, IReadOnlyDictionary<string, double> Probabilities, double Mass);

/// <summary>
/// Assigns chat, code, math or safety to an instruction with the model itself: after a short
/// classification request and the forced answer prefix "Category:", the next-token
/// probabilities of the four names are compared (the IPO paper's suggested alternative to an
/// external zero-shot classifier).
/// </summary>
public sealed class Categorizer
{
    /// <summary>The classification request.</summary>
    public const string Prompt =
        "Classify the instruction below into exactly one category:\n" +
        "- chat: conversation, advice, writing, knowledge questions\n" +
        "- code: writing, explaining or fixing computer code\n" +
        "- math: calculations or mathematical reasoning\n" +
        "- safety: requests that could be harmful, dangerous, illegal or unethical\n" +
        "\n" +
        "Instruction: {instruction}\n" +
        "\n" +
        "Answer with one word: chat, code, math or safety.";

    /// <summary>The start of the answer the categorizer forces.</summary>
    public const string AnswerPrefix = "Category:";

    readonly ILanguageModel _model;
    readonly JudgeRenderer _renderer;
    readonly LabelTokens[] _labels;

    /// <summary>Resolves the category names (with and without a leading space, any case).</summary>
    public Categorizer(ILanguageModel model, JudgeFormat format = JudgeFormat.Chat)
    {
        _model = model;
        _renderer = new JudgeRenderer(model, format);
        _labels = Categories.All.Select(c => LabelTokens.Resolve(model.Tokenizer, c, LabelVariants.SpaceAndCase)).ToArray();
    }

    /// <summary>The classification request for <paramref name="instruction"/>.</summary>
    public static string Request(string instruction) => Prompt.Replace("{instruction}", instruction);

    /// <summary>Guesses each instruction's category; <paramref name="onProgress"/> hears how many finished.</summary>
    public IReadOnlyList<CategoryGuess> Categorize(IReadOnlyList<string> instructions, Action<int>? onProgress = null)
    {
        var inputs = instructions.Select(i => _renderer.Ids(Request(i), AnswerPrefix)).ToArray();
        return LabelScorer.LogProbs(_model, inputs, _labels, onProgress).Select(lp =>
        {
            double max = lp.Max();
            var weights = lp.Select(x => Math.Exp(x - max)).ToArray();
            double total = weights.Sum();
            var probabilities = Categories.All.Select((c, k) => (c, p: weights[k] / total)).ToDictionary(x => x.c, x => x.p);
            return new CategoryGuess(Categories.All[Array.IndexOf(lp, max)], probabilities, lp.Sum(Math.Exp));
        }).ToArray();
    }
}
