using SelfAlign.Inference;

namespace SelfAlign.Judging;

/// <summary>Reads, after each prompt, the log-probability of each label (summed over its spellings) in one engine call.</summary>
internal static class LabelScorer
{
    /// <summary>result[prompt][label] = log p(label | prompt), normalized over the whole vocabulary.</summary>
    public static double[][] LogProbs(ILanguageModel model, IReadOnlyList<IReadOnlyList<int>> prompts,
        IReadOnlyList<LabelTokens> labels, Action<int>? onProgress)
    {
        var ids = labels.SelectMany(l => l.Ids).ToArray();
        var rows = model.NextTokenLogProbs(prompts, ids, onProgress);
        return rows.Select(row =>
        {
            var perLabel = new double[labels.Count];
            int at = 0;
            for (int k = 0; k < labels.Count; k++)
            {
                perLabel[k] = LabelTokens.LogSum(row.AsSpan(at, labels[k].Ids.Count));
                at += labels[k].Ids.Count;
            }
            return perLabel;
        }).ToArray();
    }

    /// <summary>p(first) / (p(first) + p(second)) from two log-probabilities, stable at any magnitude.</summary>
    public static double Share(double logFirst, double logSecond) =>
        double.IsNegativeInfinity(logFirst) && double.IsNegativeInfinity(logSecond) ? 0.5 : 1 / (1 + Math.Exp(logSecond - logFirst));
}
