using SelfAlign.Inference;

namespace SelfAlign.Judging;

/// <summary>A labeled preference pair: the judge should score <paramref name="Chosen"/> above <paramref name="Rejected"/>.</summary>
public sealed record LabeledPair(string Instruction, string Chosen, string Rejected, string Category, string? Subset = null);

/// <summary>One candidate's accuracy on its category's sample.</summary>
/// <param name="Category">The category it was tried on.</param>
/// <param name="Prompt">The candidate instruction.</param>
/// <param name="Correct">Pairs won, ties counted as half.</param>
/// <param name="Pairs">Pairs tried.</param>
public sealed record CandidateResult(string Category, string Prompt, double Correct, int Pairs)
{
    /// <summary>Correct / Pairs.</summary>
    public double Accuracy => Pairs == 0 ? 0 : Correct / Pairs;
}

/// <summary>
/// IPO's prompt selection (App. D): every candidate instruction of a category judges the same
/// small labeled sample of that category; the most accurate one is kept (the earlier candidate
/// on a tie). The result is a <see cref="JudgePromptSet"/> the yes/no judge loads.
/// </summary>
public static class PromptSelection
{
    /// <summary>Tries every candidate and returns all results and the chosen set.</summary>
    /// <param name="model">The judging model.</param>
    /// <param name="candidates">Candidate instructions per category.</param>
    /// <param name="sample">Labeled pairs; each candidate sees the pairs of its category.</param>
    /// <param name="format">Chat template or plain layout.</param>
    /// <param name="variants">Which spellings of Yes/No count.</param>
    /// <param name="onProgress">Hears how many judge inputs finished.</param>
    public static (IReadOnlyList<CandidateResult> Results, JudgePromptSet Chosen) Run(ILanguageModel model,
        IReadOnlyDictionary<string, IReadOnlyList<string>> candidates, IReadOnlyList<LabeledPair> sample,
        JudgeFormat format = JudgeFormat.Chat, LabelVariants variants = LabelVariants.SpaceAndCase, Action<int>? onProgress = null)
    {
        var results = new List<CandidateResult>();
        var chosen = new Dictionary<string, string>();
        foreach (var (category, prompts) in candidates)
        {
            var pairs = sample.Where(p => p.Category == category).ToArray();
            if (pairs.Length == 0) continue;
            // One engine call for all candidates of a category: the engine shares each candidate's prefix.
            var judges = prompts.Select((p, k) => new YesNoJudge(model, new YesNoOptions(new JudgePromptSet($"candidate-{k}",
                new Dictionary<string, string> { [category] = p }, new Dictionary<string, string>()), format, variants))).ToArray();
            var inputs = judges.SelectMany(j => pairs.SelectMany(p => new[]
            {
                j.Input(new JudgeItem(p.Instruction, p.Chosen, category)),
                j.Input(new JudgeItem(p.Instruction, p.Rejected, category)),
            })).ToArray();
            var logProbs = LabelScorer.LogProbs(model, inputs, [judges[0].Yes, judges[0].No], onProgress);
            for (int k = 0; k < prompts.Count; k++)
            {
                double correct = 0;
                for (int i = 0; i < pairs.Length; i++)
                {
                    var c = logProbs[2 * (k * pairs.Length + i)];
                    var r = logProbs[2 * (k * pairs.Length + i) + 1];
                    correct += Outcome.Of(LabelScorer.Share(c[0], c[1]), LabelScorer.Share(r[0], r[1]), TieRule.Half);
                }
                results.Add(new CandidateResult(category, prompts[k], correct, pairs.Length));
            }
            chosen[category] = results.Where(r => r.Category == category).MaxBy(r => r.Accuracy)!.Prompt;
        }
        return (results, new JudgePromptSet("selected", chosen, new Dictionary<string, string>()));
    }
}
