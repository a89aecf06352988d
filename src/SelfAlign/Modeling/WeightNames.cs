namespace SelfAlign.Modeling;

/// <summary>
/// The Hugging Face tensor names of a decoder-only checkpoint, in one place. Every family this
/// transformer supports uses the same names; the flags of <see cref="ModelConfig"/> say which exist.
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

    /// <summary>The attention projections, in the order they are fused (q, k, v).</summary>
    public static readonly string[] QkvProjections = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"];
    /// <summary>The attention output projection.</summary>
    public const string OutputProjection = "self_attn.o_proj";
    /// <summary>Qwen3's per-head query norm.</summary>
    public const string QueryNorm = "self_attn.q_norm.weight";
    /// <summary>Qwen3's per-head key norm.</summary>
    public const string KeyNorm = "self_attn.k_norm.weight";
    /// <summary>The MLP input projections, in the order they are fused (gate, up).</summary>
    public static readonly string[] GateUpProjections = ["mlp.gate_proj", "mlp.up_proj"];
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
            long[] rows = [q, kv, kv];
            for (int j = 0; j < 3; j++)
            {
                yield return ($"{p}{QkvProjections[j]}.weight", [rows[j], h]);
                if (c.AttentionBias) yield return ($"{p}{QkvProjections[j]}.bias", [rows[j]]);
            }
            yield return ($"{p}{OutputProjection}.weight", [h, q]);
            if (c.OutputBias) yield return ($"{p}{OutputProjection}.bias", [h]);
            if (c.QkNorm)
            {
                yield return (p + QueryNorm, [c.HeadDim]);
                yield return (p + KeyNorm, [c.HeadDim]);
            }
            foreach (string g in GateUpProjections)
            {
                yield return ($"{p}{g}.weight", [m, h]);
                if (c.MlpBias) yield return ($"{p}{g}.bias", [m]);
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
