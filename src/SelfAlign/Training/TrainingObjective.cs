using static TorchSharp.torch;

namespace SelfAlign.Training;

/// <summary>What one forward pass over some examples gives the training loop.</summary>
/// <param name="Loss">The loss, a mean over the pass's weight units (see <see cref="ITrainingObjective.Weight"/>), with a graph to the trained weights.</param>
/// <param name="Metrics">Values to log, each a mean over the pass's weight units.</param>
/// <param name="Tokens">Real tokens the pass processed.</param>
public sealed record ObjectiveResult(Tensor Loss, IReadOnlyDictionary<string, double> Metrics, long Tokens);

/// <summary>A training loss over a fixed list of examples, addressed by index.</summary>
public interface ITrainingObjective
{
    /// <summary>Number of examples.</summary>
    int Count { get; }

    /// <summary>
    /// What a pass over <paramref name="items"/> averages over (pairs, or completion tokens), so
    /// accumulated passes combine into the mean over the whole optimizer step.
    /// </summary>
    double Weight(IReadOnlyList<int> items);

    /// <summary>Tokens of one example, for batching examples of similar length together (0: unknown).</summary>
    int Length(int item) => 0;

    /// <summary>Runs the model over <paramref name="items"/> and returns the loss.</summary>
    ObjectiveResult Compute(IReadOnlyList<int> items);
}
