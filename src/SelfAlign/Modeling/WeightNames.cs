namespace SelfAlign.Modeling;

/// <summary>The place of a norm in a block.</summary>
public enum NormRole
{
    /// <summary>Before attention (<c>input_layernorm</c>).</summary>
    Input,
    /// <summary>On attention's output, before the residual add (Gemma 2's <c>post_attention_layernorm</c>).</summary>
    AttentionOutput,
    /// <summary>Before the MLP (<c>post_attention_layernorm</c>; Gemma 2's <c>pre_feedforward_layernorm</c>).</summary>
    PreMlp,
    /// <summary>On the MLP's output, before the residual add (Gemma 2's <c>post_feedforward_layernorm</c>).</summary>
    MlpOutput,
}

/// <summary>
/// The Hugging Face tensor names of a decoder-only checkpoint, in one place. The families share
/// most names; Phi-3 stores q/k/v and gate/up fused, Starcoder2 names its MLP c_fc and c_proj,
/// Gemma 2 has four norms per block; the flags of <see cref="ModelConfig"/> say which exist.
/// </summary>
public static class WeightNames
{
    /// <summary>Token embedding matrix [vocab, hidden].</summary>
    public const string Embedding = "model.embed_tokens.weight";
    /// <summary>The final norm module: its weight [hidden] and, for LayerNorm, bias.</summary>
    public const string FinalNorm = "model.norm";
    /// <summary>Output projection [vocab, hidden]; absent when embeddings are tied.</summary>
    public const string LmHead = "lm_head.weight";

    /// <summary>Prefix of layer <paramref name="i"/>'s tensors.</summary>
    public static string Layer(int i) => $"model.layers.{i}.";

    /// <summary>
    /// The checkpoint's attention input projections with the rows of the fused q, k, v each holds, in
    /// fused order: q_proj, k_proj, v_proj, or Phi-3's single qkv_proj.
    /// </summary>
    public static IReadOnlyList<(string Name, long Rows)> Qkv(ModelConfig c)
    {
        long q = (long)c.NumHeads * c.HeadDim, kv = (long)c.NumKvHeads * c.HeadDim;
        return c.FusedProjections ? [("self_attn.qkv_proj", q + 2 * kv)] : [("self_attn.q_proj", q), ("self_attn.k_proj", kv), ("self_attn.v_proj", kv)];
    }
    /// <summary>The attention output projection.</summary>
    public const string OutputProjection = "self_attn.o_proj";
    /// <summary>The per-head query norm (Qwen3, Gemma 3).</summary>
    public const string QueryNorm = "self_attn.q_norm.weight";
    /// <summary>The per-head key norm (Qwen3, Gemma 3).</summary>
    public const string KeyNorm = "self_attn.k_norm.weight";
    /// <summary>
    /// The checkpoint's MLP input projections with their rows, in fused order: gate_proj, up_proj, Phi-3's
    /// gate_up_proj, or Starcoder2's ungated c_fc.
    /// </summary>
    public static IReadOnlyList<(string Name, long Rows)> GateUp(ModelConfig c) =>
        c.FusedProjections ? [("mlp.gate_up_proj", 2L * c.IntermediateSize)]
        : c.GatedMlp ? [("mlp.gate_proj", c.IntermediateSize), ("mlp.up_proj", c.IntermediateSize)]
        : [("mlp.c_fc", c.IntermediateSize)];
    /// <summary>The MLP output projection: down_proj, or Starcoder2's c_proj.</summary>
    public static string Down(ModelConfig c) => c.GatedMlp ? "mlp.down_proj" : "mlp.c_proj";

    /// <summary>The norm modules of a block with their roles, in checkpoint order.</summary>
    public static IReadOnlyList<(NormRole Role, string Name)> BlockNorms(ModelConfig c) => c.SandwichNorms
        ? [(NormRole.Input, "input_layernorm"), (NormRole.AttentionOutput, "post_attention_layernorm"),
           (NormRole.PreMlp, "pre_feedforward_layernorm"), (NormRole.MlpOutput, "post_feedforward_layernorm")]
        : [(NormRole.Input, "input_layernorm"), (NormRole.PreMlp, "post_attention_layernorm")];

    /// <summary>The tensors of a norm module: <c>.weight</c>, and <c>.bias</c> for LayerNorm.</summary>
    public static IEnumerable<string> NormTensors(ModelConfig c, string module) =>
        c.Norm == NormKind.LayerNorm ? [module + ".weight", module + ".bias"] : [module + ".weight"];

    /// <summary>
    /// Every tensor name and shape a checkpoint of this architecture holds, in the order Hugging
    /// Face's models list their parameters.
    /// </summary>
    public static IEnumerable<(string Name, long[] Shape)> Expected(ModelConfig c)
    {
        long h = c.HiddenSize, q = (long)c.NumHeads * c.HeadDim, kv = (long)c.NumKvHeads * c.HeadDim, m = c.IntermediateSize;
        yield return (Embedding, [c.VocabSize, h]);
        for (int i = 0; i < c.NumLayers; i++)
        {
            string p = Layer(i);
            foreach (var (name, rows) in Qkv(c))
            {
                yield return ($"{p}{name}.weight", [rows, h]);
                if (c.AttentionBias) yield return ($"{p}{name}.bias", [rows]);
            }
            yield return ($"{p}{OutputProjection}.weight", [h, q]);
            if (c.OutputBias) yield return ($"{p}{OutputProjection}.bias", [h]);
            if (c.QkNorm)
            {
                yield return (p + QueryNorm, [c.HeadDim]);
                yield return (p + KeyNorm, [c.HeadDim]);
            }
            foreach (var (name, rows) in GateUp(c))
            {
                yield return ($"{p}{name}.weight", [rows, h]);
                if (c.MlpBias) yield return ($"{p}{name}.bias", [rows]);
            }
            yield return ($"{p}{Down(c)}.weight", [h, m]);
            if (c.MlpBias) yield return ($"{p}{Down(c)}.bias", [h]);
            foreach (var (_, norm) in BlockNorms(c))
                foreach (string name in NormTensors(c, p + norm))
                    yield return (name, [h]);
        }
        foreach (string name in NormTensors(c, FinalNorm))
            yield return (name, [h]);
        if (!c.TieWordEmbeddings) yield return (LmHead, [c.VocabSize, h]);
    }
}
