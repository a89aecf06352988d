using TorchSharp;
using SelfAlign.Modeling;

namespace SelfAlign.Training;

/// <summary>
/// Supervised fine-tuning: cross-entropy on the completion tokens only, averaged over all
/// completion tokens of an optimizer step (the prompt is context, never a target).
/// </summary>
public sealed class SftObjective(CausalLm model, IReadOnlyList<TokenizedCompletion> examples, int padId) : ITrainingObjective
{
    /// <inheritdoc />
    public int Count => examples.Count;

    /// <inheritdoc />
    public double Weight(IReadOnlyList<int> items) => items.Sum(i => examples[i].Completion.Length);

    /// <inheritdoc />
    public int Length(int item) => examples[item].Length;

    /// <inheritdoc />
    public ObjectiveResult Compute(IReadOnlyList<int> items)
    {
        using var batch = SequenceBatch.Create(items.Select(i => examples[i]).ToArray(), padId, model.Device);
        var logProbs = model.SequenceLogProbs(batch.Ids, batch.Scored);
        using var tokens = ((double)batch.CompletionLengths.Sum()).ToScalar();
        var loss = logProbs.sum().neg().div(tokens);
        return new ObjectiveResult(loss, new Dictionary<string, double>(), batch.RealTokens);
    }
}
