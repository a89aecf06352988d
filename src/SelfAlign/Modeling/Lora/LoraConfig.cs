namespace SelfAlign.Modeling.Lora;

/// <summary>
/// Settings of a low-rank adapter: each targeted linear layer W gains ΔW = scale · B A with
/// A [rank, in] and B [out, rank], trained while W stays frozen.
/// </summary>
/// <param name="Rank">r, the inner dimension of B A.</param>
/// <param name="Alpha">lora_alpha; the delta is scaled by alpha / r (alpha / √r with rsLoRA).</param>
/// <param name="Dropout">Dropout on the adapter's input while training (PEFT's lora_dropout).</param>
/// <param name="TargetModules">Projection names to adapt (q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj; Phi-3's
/// fused qkv_proj and gate_up_proj; Starcoder2's c_fc and c_proj); every linear projection of the model when null.</param>
/// <param name="UseRsLora">Rank-stabilized scaling alpha / √r (Kalajdzievski 2023), as PEFT's use_rslora.</param>
public sealed record LoraConfig(int Rank = 16, double Alpha = 32, double Dropout = 0.05, IReadOnlyList<string>? TargetModules = null,
    bool UseRsLora = false)
{
    /// <summary>Every linear projection name of attention and MLP in any supported family, PEFT's short names.</summary>
    public static IReadOnlyList<string> Known { get; } = ["q_proj", "k_proj", "v_proj", "qkv_proj", "o_proj", "gate_proj", "up_proj", "gate_up_proj", "down_proj", "c_fc", "c_proj"];

    /// <summary>Whether the projection named <paramref name="shortName"/> is adapted.</summary>
    public bool Adapts(string shortName) => TargetModules is null || TargetModules.Contains(shortName);

    /// <summary>The factor applied to B A x.</summary>
    public double Scale => UseRsLora ? Alpha / Math.Sqrt(Rank) : Alpha / Rank;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        if (Rank < 1) throw new InvalidSettingException("lora.r", $"must be at least 1, got {Rank}");
        if (!(Alpha > 0) || double.IsInfinity(Alpha)) throw new InvalidSettingException("lora.alpha", $"must be positive, got {Alpha}");
        if (!(Dropout >= 0 && Dropout < 1)) throw new InvalidSettingException("lora.dropout", $"must be in [0, 1), got {Dropout}");
        if (TargetModules is { Count: 0 }) throw new InvalidSettingException("lora.target_modules", "needs at least one module");
        foreach (var t in TargetModules ?? [])
            if (!Known.Contains(t))
                throw new InvalidSettingException("lora.target_modules", $"has an unknown module '{t}' (known: {string.Join(", ", Known)})");
    }
}
