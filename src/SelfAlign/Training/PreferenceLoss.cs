using SelfAlign.Modeling;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace SelfAlign.Training;

/// <summary>The preference objective a pair is trained with.</summary>
public enum PreferenceLossKind
{
    /// <summary>DPO: -log σ(h).</summary>
    Dpo,
    /// <summary>IPO (Azar et al.): (h/β - 1/(2β))², on per-token mean log-probs.</summary>
    Ipo,
    /// <summary>PSO: soft cross-entropy with the pair's calibrated preference strength as its target.</summary>
    Pso,
    /// <summary>Conservative DPO: PSO with the same strength 1 - ε for every pair.</summary>
    Cdpo,
}

/// <summary>Settings of <see cref="PreferenceLoss"/>.</summary>
/// <param name="Kind">The objective.</param>
/// <param name="Beta">β: how far the policy may move from the reference.</param>
/// <param name="LabelSmoothing">ε of conservative DPO, in [0, 0.5).</param>
/// <param name="NllWeight">Weight of the chosen response's per-token negative log-likelihood added to the loss (TRL's <c>rpo_alpha</c>); 0 for none.</param>
/// <param name="LengthNormalized">Compare per-token mean log-ratios instead of sums (length-normalized DPO; IPO always does), so a
/// longer response gains no margin from its length alone: a guard against the length bias of self-rewarding loops.</param>
public sealed record PreferenceLossOptions(PreferenceLossKind Kind = PreferenceLossKind.Dpo, double Beta = 0.1, double LabelSmoothing = 0, double NllWeight = 0,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingDefault)] bool LengthNormalized = false)
{
    /// <summary>Throws when a setting is out of range.</summary>
    public void Validate()
    {
        if (!(Beta > 0) || double.IsInfinity(Beta)) throw new InvalidSettingException("beta", $"must be positive, got {Beta}");
        if (!(LabelSmoothing is >= 0 and < 0.5)) throw new InvalidSettingException("label_smoothing", $"must be in [0, 0.5), got {LabelSmoothing}");
        if (!(NllWeight >= 0) || double.IsInfinity(NllWeight)) throw new InvalidSettingException("nll_weight", $"must be >= 0, got {NllWeight}");
    }
}

/// <summary>
/// Log-probabilities of a batch of pairs, each a sum over the response's tokens, and what the
/// losses need besides: [pairs] tensors. The reference ones carry no gradient.
/// </summary>
/// <param name="PolicyChosen">log π(y_w | x).</param>
/// <param name="PolicyRejected">log π(y_l | x).</param>
/// <param name="ReferenceChosen">log π_ref(y_w | x).</param>
/// <param name="ReferenceRejected">log π_ref(y_l | x).</param>
/// <param name="ChosenTokens">Tokens in each chosen response.</param>
/// <param name="RejectedTokens">Tokens in each rejected response.</param>
/// <param name="Strength">PSO's calibrated preference strength s in [0.5, 1] per pair; read only by <see cref="PreferenceLossKind.Pso"/>.</param>
public sealed record PairLogProbs(Tensor PolicyChosen, Tensor PolicyRejected, Tensor ReferenceChosen, Tensor ReferenceRejected,
    Tensor ChosenTokens, Tensor RejectedTokens, Tensor? Strength = null);

/// <summary>The loss of a batch and the quantities logged with it (means over the batch, no gradient).</summary>
/// <param name="Loss">Scalar to minimize (mean over pairs, plus the NLL term).</param>
/// <param name="RewardChosen">β (log π - log π_ref) of the chosen responses.</param>
/// <param name="RewardRejected">The same for the rejected responses.</param>
/// <param name="Accuracy">Share of pairs whose chosen reward exceeds the rejected one (h &gt; 0).</param>
/// <param name="Nll">Per-token negative log-likelihood of the chosen responses.</param>
public sealed record PreferenceLossResult(Tensor Loss, double RewardChosen, double RewardRejected, double Accuracy, double Nll)
{
    /// <summary>Mean reward margin, chosen minus rejected.</summary>
    public double Margin => RewardChosen - RewardRejected;
}

/// <summary>
/// DPO, IPO, PSO and conservative DPO on sequence log-probabilities. With
/// h = β[(log π(y_w) - log π_ref(y_w)) - (log π(y_l) - log π_ref(y_l))]:
/// DPO is -log σ(h); PSO is -[s log σ(h) + (1 - s) log σ(-h)] with the pair's strength s;
/// conservative DPO is PSO with s = 1 - ε; IPO is (h/β - 1/(2β))². IPO uses the per-token mean
/// log-probability of each response, as TRL does; the others use the sum, or the mean too when
/// length-normalized. Rewards are logged from the same log-probabilities the loss uses.
/// </summary>
public static class PreferenceLoss
{
    /// <summary>The loss of <paramref name="pairs"/> under <paramref name="options"/>.</summary>
    public static PreferenceLossResult Compute(PairLogProbs pairs, PreferenceLossOptions options)
    {
        options.Validate();
        using var scope = torch.NewDisposeScope();
        bool perToken = options.Kind == PreferenceLossKind.Ipo || options.LengthNormalized;
        var chosen = pairs.PolicyChosen - pairs.ReferenceChosen.detach();
        var rejected = pairs.PolicyRejected - pairs.ReferenceRejected.detach();
        if (perToken)
        {
            chosen = chosen / pairs.ChosenTokens;
            rejected = rejected / pairs.RejectedTokens;
        }
        var beta = Scalars.Of(options.Beta);
        var logRatio = chosen - rejected;
        var h = logRatio.mul(beta);
        var losses = options.Kind switch
        {
            PreferenceLossKind.Dpo => -F.logsigmoid(h),
            PreferenceLossKind.Ipo => logRatio.sub(Scalars.Of(1 / (2 * options.Beta))).pow(Scalars.Of(2L)),
            PreferenceLossKind.Pso => SoftTarget(h, pairs.Strength ?? throw new ArgumentException("PSO needs each pair's strength")),
            PreferenceLossKind.Cdpo => SoftTarget(h, torch.full_like(h, Scalars.Of(1 - options.LabelSmoothing))),
            _ => throw new ArgumentOutOfRangeException(nameof(options), options.Kind, null),
        };
        // Per-token NLL over all chosen tokens of the batch, as TRL's rpo_alpha term.
        var nll = -pairs.PolicyChosen.sum() / pairs.ChosenTokens.sum();
        var loss = losses.mean();
        if (options.NllWeight > 0) loss = loss.add(nll.mul(Scalars.Of(options.NllWeight)), Scalars.One);

        using var noGrad = torch.no_grad();
        var rewardChosen = chosen.mul(beta);
        var rewardRejected = rejected.mul(beta);
        return new PreferenceLossResult(loss.MoveToOuterDisposeScope(),
            Mean(rewardChosen), Mean(rewardRejected), Mean(h.gt(Scalars.Of(0L))), nll.to(ScalarType.Float64).item<double>());
    }

    /// <summary>Cross-entropy of σ(h) against the soft label <paramref name="s"/>: -[s log σ(h) + (1 - s) log σ(-h)].</summary>
    static Tensor SoftTarget(Tensor h, Tensor s) => -(s * F.logsigmoid(h)).add(s.sub(Scalars.One).neg() * F.logsigmoid(-h), Scalars.One);

    static double Mean(Tensor t) => t.detach().to(ScalarType.Float64).mean().item<double>();
}
