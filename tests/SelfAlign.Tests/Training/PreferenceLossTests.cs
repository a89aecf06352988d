using SelfAlign.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SelfAlign.Tests.Training;

/// <summary>The preference losses against closed-form values and finite differences.</summary>
public sealed class PreferenceLossTests
{
    // Two pairs: policy log-probs move +1 / -1 nat from the reference on the first, the reverse on the second.
    static PairLogProbs Pairs(Tensor? policyChosen = null, double[]? strength = null) => new(
        policyChosen ?? tensor(new[] { -10.0, -20.0 }), tensor(new[] { -12.0, -19.0 }),
        tensor(new[] { -11.0, -19.0 }), tensor(new[] { -11.0, -20.0 }),
        tensor(new[] { 4.0, 8.0 }), tensor(new[] { 2.0, 5.0 }),
        strength is null ? null : tensor(strength));

    static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    [Fact]
    public void Dpo_is_minus_log_sigmoid_of_the_scaled_margin()
    {
        var r = PreferenceLoss.Compute(Pairs(), new PreferenceLossOptions(PreferenceLossKind.Dpo, Beta: 0.1));
        // h = 0.1 * [(1) - (-1)] = 0.2 and 0.1 * [(-1) - (1)] = -0.2.
        double expected = (-Math.Log(Sigmoid(0.2)) - Math.Log(Sigmoid(-0.2))) / 2;
        Assert.Equal(expected, r.Loss.item<double>(), 12);
        Assert.Equal(0.0, r.RewardChosen, 12);        // (0.1 - 0.1) / 2
        Assert.Equal(0.0, r.RewardRejected, 12);
        Assert.Equal(0.5, r.Accuracy, 12);
        Assert.Equal(30.0 / 12, r.Nll, 12);           // 30 nats over 12 chosen tokens
    }

    [Fact]
    public void Ipo_uses_per_token_means()
    {
        var r = PreferenceLoss.Compute(Pairs(), new PreferenceLossOptions(PreferenceLossKind.Ipo, Beta: 0.1));
        // Pair 1: 1/4 - (-1/2) = 0.75; pair 2: -1/8 - 1/5 = -0.325; target 1/(2 beta) = 5.
        double expected = (Math.Pow(0.75 - 5, 2) + Math.Pow(-0.325 - 5, 2)) / 2;
        Assert.Equal(expected, r.Loss.item<double>(), 10);
        Assert.Equal(0.1 * (0.25 - 1.0 / 8) / 2, r.RewardChosen, 12);
    }

    [Fact]
    public void Length_normalized_dpo_compares_per_token_means()
    {
        var r = PreferenceLoss.Compute(Pairs(), new PreferenceLossOptions(PreferenceLossKind.Dpo, Beta: 0.1, LengthNormalized: true));
        // Per-token log-ratios as for IPO: h = 0.1 * 0.75 and 0.1 * -0.325.
        double expected = (-Math.Log(Sigmoid(0.075)) - Math.Log(Sigmoid(-0.0325))) / 2;
        Assert.Equal(expected, r.Loss.item<double>(), 12);
        Assert.Equal(0.1 * (0.25 - 1.0 / 8) / 2, r.RewardChosen, 12);
    }

    [Fact]
    public void Pso_is_soft_cross_entropy_and_cdpo_is_pso_with_one_strength()
    {
        var pso = PreferenceLoss.Compute(Pairs(strength: [0.8, 0.8]), new PreferenceLossOptions(PreferenceLossKind.Pso, Beta: 0.1));
        double Pair(double h) => -(0.8 * Math.Log(Sigmoid(h)) + 0.2 * Math.Log(Sigmoid(-h)));
        Assert.Equal((Pair(0.2) + Pair(-0.2)) / 2, pso.Loss.item<double>(), 12);
        var cdpo = PreferenceLoss.Compute(Pairs(), new PreferenceLossOptions(PreferenceLossKind.Cdpo, Beta: 0.1, LabelSmoothing: 0.2));
        Assert.Equal(pso.Loss.item<double>(), cdpo.Loss.item<double>(), 12);
        var dpo = PreferenceLoss.Compute(Pairs(strength: [1, 1]), new PreferenceLossOptions(PreferenceLossKind.Pso, Beta: 0.1));
        Assert.Equal(PreferenceLoss.Compute(Pairs(), new PreferenceLossOptions()).Loss.item<double>(), dpo.Loss.item<double>(), 12);
    }

    [Fact]
    public void Nll_term_adds_the_weighted_per_token_nll()
    {
        var plain = PreferenceLoss.Compute(Pairs(), new PreferenceLossOptions());
        var withNll = PreferenceLoss.Compute(Pairs(), new PreferenceLossOptions(NllWeight: 0.5));
        Assert.Equal(plain.Loss.item<double>() + 0.5 * 30.0 / 12, withNll.Loss.item<double>(), 12);
    }

    [Theory]
    [InlineData(PreferenceLossKind.Dpo)]
    [InlineData(PreferenceLossKind.Ipo)]
    [InlineData(PreferenceLossKind.Pso)]
    [InlineData(PreferenceLossKind.Cdpo)]
    public void Gradient_matches_finite_differences(PreferenceLossKind kind)
    {
        var options = new PreferenceLossOptions(kind, Beta: 0.3, LabelSmoothing: 0.1, NllWeight: 0.2);
        double[] strength = [0.7, 0.95];
        double[] x = [-10.0, -20.0];
        var leaf = tensor(x).requires_grad_();
        PreferenceLoss.Compute(Pairs(leaf, strength), options).Loss.backward();
        var analytic = leaf.grad!.data<double>().ToArray();
        const double step = 1e-6;
        for (int i = 0; i < x.Length; i++)
        {
            double At(double delta)
            {
                var moved = (double[])x.Clone();
                moved[i] += delta;
                using var _ = no_grad();
                return PreferenceLoss.Compute(Pairs(tensor(moved), strength), options).Loss.item<double>();
            }
            Assert.Equal((At(step) - At(-step)) / (2 * step), analytic[i], 6);
        }
    }

    [Fact]
    public void Pso_with_strength_one_half_has_no_gradient_at_the_reference()
    {
        // Policy == reference: h = 0, and a pair the judge could not separate pulls neither way.
        var policyChosen = tensor(new[] { -11.0, -19.0 }).requires_grad_();
        var policyRejected = tensor(new[] { -11.0, -20.0 }).requires_grad_();
        var pairs = Pairs(policyChosen, [0.5, 0.5]) with { PolicyRejected = policyRejected };
        PreferenceLoss.Compute(pairs, new PreferenceLossOptions(PreferenceLossKind.Pso)).Loss.backward();
        Assert.All(policyChosen.grad!.data<double>().ToArray(), g => Assert.Equal(0, g, 12));
        Assert.All(policyRejected.grad!.data<double>().ToArray(), g => Assert.Equal(0, g, 12));
    }

    [Fact]
    public void Bad_settings_are_refused()
    {
        Assert.Throws<InvalidSettingException>(() => PreferenceLoss.Compute(Pairs(), new PreferenceLossOptions(Beta: 0)));
        Assert.Throws<InvalidSettingException>(() => PreferenceLoss.Compute(Pairs(), new PreferenceLossOptions(LabelSmoothing: 0.5)));
        Assert.Throws<ArgumentException>(() => PreferenceLoss.Compute(Pairs(), new PreferenceLossOptions(PreferenceLossKind.Pso)));
    }
}
