using SelfAlign.Modeling;

namespace SelfAlign.Training;

/// <summary>SFT rows mixed into preference training.</summary>
/// <param name="Data">SFT JSONL (for example judge-training rows, so the judge keeps judging as the policy trains).</param>
/// <param name="Weight">Weight of the SFT loss added to the preference loss.</param>
/// <param name="PerPair">SFT rows that accompany each pair in a pass.</param>
public sealed record SftMix(string Data, double Weight = 1.0, int PerPair = 1)
{
    /// <summary>Throws <see cref="InvalidSettingException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        if (Data.Length == 0) throw new InvalidSettingException("sft_mix.data", "needs an SFT JSONL file");
        if (!(Weight > 0) || double.IsInfinity(Weight)) throw new InvalidSettingException("sft_mix.weight", $"must be positive, got {Weight}");
        if (PerPair < 1) throw new InvalidSettingException("sft_mix.per_pair", $"must be at least 1, got {PerPair}");
    }
}

/// <summary>
/// A preference loss plus a weighted SFT loss on rows that ride along with the pairs: pair i of
/// the data always brings the same <see cref="SftMix.PerPair"/> rows (a seeded draw), so a pass
/// depends only on its items and resuming reproduces it.
/// </summary>
public sealed class SftMixObjective : ITrainingObjective
{
    readonly PreferenceObjective _preferences;
    readonly SftObjective _sft;
    readonly int[] _order;
    readonly int _perPair;
    readonly double _weight;

    /// <summary>Mixes the rows of <paramref name="sft"/> into <paramref name="preferences"/> as <paramref name="mix"/> says, drawn by <paramref name="seed"/>.</summary>
    public SftMixObjective(PreferenceObjective preferences, SftObjective sft, SftMix mix, ulong seed)
    {
        _preferences = preferences;
        _sft = sft;
        _perPair = mix.PerPair;
        _weight = mix.Weight;
        _order = Enumerable.Range(0, sft.Count).ToArray();
        new Random((int)(seed % int.MaxValue)).Shuffle(_order);
    }

    /// <inheritdoc />
    public int Count => _preferences.Count;

    /// <inheritdoc />
    public double Weight(IReadOnlyList<int> items) => _preferences.Weight(items);

    /// <inheritdoc />
    public int Length(int item) => _preferences.Length(item);

    /// <inheritdoc />
    public ObjectiveResult Compute(IReadOnlyList<int> items)
    {
        var preference = _preferences.Compute(items);
        var rows = items.SelectMany(i => Enumerable.Range(i * _perPair, _perPair).Select(k => _order[k % _order.Length])).ToArray();
        var sft = _sft.Compute(rows);
        var metrics = new Dictionary<string, double>(preference.Metrics) { ["sft_mix_loss"] = sft.Loss.item<float>() };
        return new ObjectiveResult(preference.Loss.add(sft.Loss, Scalars.Of(_weight)), metrics, preference.Tokens + sft.Tokens);
    }
}
