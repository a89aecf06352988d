using SelfAlign.Modeling;
using SelfAlign.Training;
using Xunit;
using static TorchSharp.torch;

namespace SelfAlign.Tests.Training;

/// <summary>SFT rows mixed into preference training: the loss is the preference loss plus the weighted SFT loss, and a pass depends only on its items.</summary>
public class SftMixTests
{
    static TokenizedCompletion Row(int seed, int prompt, int completion)
    {
        var random = new Random(seed);
        return new TokenizedCompletion(Enumerable.Range(0, prompt).Select(_ => random.Next(3, 80)).ToArray(), Enumerable.Range(0, completion).Select(_ => random.Next(3, 80)).ToArray());
    }

    [Fact]
    public void Mixed_loss_is_preference_loss_plus_weighted_sft_loss_on_the_pairs_rows()
    {
        using var model = TestModels.Random(TestModels.Tiny());
        var pairs = Enumerable.Range(0, 4).Select(i => new TokenizedPair($"p{i}", Row(i, 5, 3), Row(100 + i, 5, 4), null)).ToList();
        var sft = Enumerable.Range(0, 5).Select(i => Row(200 + i, 4, 2 + i)).ToList();
        var reference = pairs.ToDictionary(p => p.Id, _ => (-9f, -10f));
        var loss = new PreferenceLossOptions(PreferenceLossKind.Dpo, 0.1);
        var preference = new PreferenceObjective(model, pairs, reference, loss, 0);
        var rows = new SftObjective(model, sft, 0);
        var mixed = new SftMixObjective(preference, rows, new SftMix("judge.jsonl", Weight: 0.5, PerPair: 2), seed: 3);
        using var noGrad = no_grad();
        int[] items = [1, 3];
        var result = mixed.Compute(items);
        // The rows a pass brings are the same every time it is computed.
        Assert.Equal(result.Loss.item<float>(), mixed.Compute(items).Loss.item<float>());
        double preferenceLoss = preference.Compute(items).Loss.item<float>();
        double sftLoss = result.Metrics["sft_mix_loss"];
        Assert.Equal(preferenceLoss + 0.5 * sftLoss, result.Loss.item<float>(), 5);
        // The SFT part is the SFT objective over two rows per pair.
        var candidates = Enumerable.Range(0, sft.Count).SelectMany(a => Enumerable.Range(0, sft.Count).SelectMany(b => Enumerable.Range(0, sft.Count)
            .SelectMany(c => Enumerable.Range(0, sft.Count).Select(d => new[] { a, b, c, d })))).Where(q => q.Distinct().Count() >= 3);
        Assert.Contains(candidates, q => Math.Abs(rows.Compute(q).Loss.item<float>() - sftLoss) < 1e-6);
        Assert.Equal(pairs.Count, mixed.Count);
        Assert.Throws<InvalidSettingException>(() => new SftMix("x", Weight: 0).Validate());
        Assert.Throws<InvalidSettingException>(() => new SftMix("x", PerPair: 0).Validate());
    }
}
