namespace SelfAlign.Modeling.Lora;

/// <summary>Where in a block an adapter's delta is added: one fused projection of <see cref="CausalLm"/>.</summary>
internal enum LoraSite
{
    /// <summary>The fused q, k, v projection.</summary>
    Qkv,
    /// <summary>o_proj.</summary>
    Output,
    /// <summary>The fused gate and up projection (Starcoder2's c_fc).</summary>
    GateUp,
    /// <summary>down_proj (Starcoder2's c_proj).</summary>
    Down,
}

/// <summary>One linear projection an adapter can target.</summary>
/// <param name="Name">Hugging Face module name, e.g. <c>model.layers.0.self_attn.q_proj</c>.</param>
/// <param name="Short">PEFT's short name, e.g. <c>q_proj</c>.</param>
/// <param name="Layer">Block index.</param>
/// <param name="Site">The fused projection that holds it.</param>
/// <param name="In">Input features.</param>
/// <param name="Out">Output features (its rows within the fused projection).</param>
internal sealed record LoraModule(string Name, string Short, int Layer, LoraSite Site, long In, long Out);

/// <summary>The adaptable projections of an architecture, in the order the fused layout stacks them.</summary>
internal static class LoraModules
{
    /// <summary>The projections of one site of one block, in fused row order.</summary>
    public static IReadOnlyList<LoraModule> Of(ModelConfig c, int layer, LoraSite site)
    {
        long h = c.HiddenSize, q = (long)c.NumHeads * c.HeadDim, kv = (long)c.NumKvHeads * c.HeadDim, m = c.IntermediateSize;
        string p = WeightNames.Layer(layer);
        LoraModule M(string path, long input, long output) => new(p + path, path[(path.LastIndexOf('.') + 1)..], layer, site, input, output);
        return site switch
        {
            // Phi-3's fused qkv_proj and gate_up_proj are one module each, as PEFT adapts them.
            LoraSite.Qkv => [.. WeightNames.Qkv(c).Select(x => M(x.Name, h, x.Rows))],
            LoraSite.Output => [M(WeightNames.OutputProjection, q, h)],
            LoraSite.GateUp => [.. WeightNames.GateUp(c).Select(x => M(x.Name, h, x.Rows))],
            _ => [M(WeightNames.Down(c), m, h)],
        };
    }

    /// <summary>Every adaptable projection of the model, block by block.</summary>
    public static IEnumerable<LoraModule> All(ModelConfig c) =>
        Enumerable.Range(0, c.NumLayers).SelectMany(i => Enum.GetValues<LoraSite>().SelectMany(s => Of(c, i, s)));
}
