using SelfAlign.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace SelfAlign.Training;

/// <summary>
/// A preference loss (DPO, IPO, PSO, cDPO, optionally with the chosen-response NLL term) over
/// tokenized pairs: chosen and rejected rows run through the model in one pass, the reference
/// log-probabilities come from the cache.
/// </summary>
public sealed class PreferenceObjective(CausalLm model, IReadOnlyList<TokenizedPair> pairs,
    IReadOnlyDictionary<string, (float Chosen, float Rejected)> reference, PreferenceLossOptions loss, int padId) : ITrainingObjective
{
    /// <inheritdoc />
    public int Count => pairs.Count;

    /// <inheritdoc />
    public double Weight(IReadOnlyList<int> items) => items.Count;

    /// <inheritdoc />
    public int Length(int item) => Math.Max(pairs[item].Chosen.Length, pairs[item].Rejected.Length);

    /// <inheritdoc />
    public ObjectiveResult Compute(IReadOnlyList<int> items)
    {
        var group = items.Select(i => pairs[i]).ToArray();
        int n = group.Length;
        using var batch = SequenceBatch.Create([.. group.Select(p => p.Chosen), .. group.Select(p => p.Rejected)], padId, model.Device);
        var logProbs = model.SequenceLogProbs(batch.Ids, batch.Scored);
        Tensor Floats(IEnumerable<float> v) => torch.tensor(v.ToArray()).to(model.Device);
        var result = PreferenceLoss.Compute(new PairLogProbs(
            logProbs.narrow(0, 0, n), logProbs.narrow(0, n, n),
            Floats(group.Select(p => reference[p.Id].Chosen)), Floats(group.Select(p => reference[p.Id].Rejected)),
            Floats(group.Select(p => (float)p.Chosen.Completion.Length)), Floats(group.Select(p => (float)p.Rejected.Completion.Length)),
            loss.Kind == PreferenceLossKind.Pso ? Floats(group.Select(p => (float)(p.Strength ?? throw new ArgumentException($"pair '{p.Id}' has no strength, which the PSO loss needs")))) : null),
            loss);
        using var noGrad = torch.no_grad();
        var metrics = new Dictionary<string, double>
        {
            ["rewards/chosen"] = result.RewardChosen,
            ["rewards/rejected"] = result.RewardRejected,
            ["rewards/margins"] = result.Margin,
            ["rewards/accuracies"] = result.Accuracy,
            ["logps/chosen"] = logProbs.narrow(0, 0, n).mean().item<float>(),
            ["logps/rejected"] = logProbs.narrow(0, n, n).mean().item<float>(),
            ["nll_loss"] = result.Nll,
            ["length/chosen"] = group.Average(p => p.Chosen.Completion.Length),
            ["length/rejected"] = group.Average(p => p.Rejected.Completion.Length),
        };
        return new ObjectiveResult(result.Loss, metrics, batch.RealTokens);
    }
}
