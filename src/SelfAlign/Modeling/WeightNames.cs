namespace SelfAlign.Modeling;

/// <summary>
/// The Hugging Face tensor names of a decoder-only checkpoint, in one place. Every family this
/// transformer supports uses the same names, except that Phi-3 stores q/k/v and gate/up fused;
/// the flags of <see cref="ModelConfig"/> say which exist.
/// </summary>
public static class WeightNames
{
    /// <summary>Token embedding matrix [vocab, hidden].</summary>
    public const string Embedding = "model.embed_tokens.weight";
    /// <summary>Final RMSNorm weight [hidden].</summary>
    public const string FinalNorm = "model.norm.weight";
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
    /// <summary>Qwen3's per-head query norm.</summary>
    public const string QueryNorm = "self_attn.q_norm.weight";
    /// <summary>Qwen3's per-head key norm.</summary>
    public const string KeyNorm = "self_attn.k_norm.weight";
    /// <summary>The checkpoint's MLP input projections with their rows, in fused order: gate_proj, up_proj, or Phi-3's gate_up_proj.</summary>
    public static IReadOnlyList<(string Name, long Rows)> GateUp(ModelConfig c) =>
        c.FusedProjections ? [("mlp.gate_up_proj", 2L * c.IntermediateSize)] : [("mlp.gate_proj", c.IntermediateSize), ("mlp.up_proj", c.IntermediateSize)];
    /// <summary>The MLP output projection.</summary>
    public const string DownProjection = "mlp.down_proj";
    /// <summary>Norm before attention.</summary>
    public const string InputNorm = "input_layernorm.weight";
    /// <summary>Norm before the MLP.</summary>
    public const string PostAttentionNorm = "post_attention_layernorm.weight";

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
            yield return ($"{p}{DownProjection}.weight", [h, m]);
            if (c.MlpBias) yield return ($"{p}{DownProjection}.bias", [h]);
            yield return (p + InputNorm, [h]);
            yield return (p + PostAttentionNorm, [h]);
        }
        yield return (FinalNorm, [h]);
        if (!c.TieWordEmbeddings) yield return (LmHead, [c.VocabSize, h]);
    }
}
