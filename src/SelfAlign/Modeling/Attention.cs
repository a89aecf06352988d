using TorchSharp;
using static TorchSharp.torch;
using SelfAlign.Modeling.Lora;
using F = TorchSharp.torch.nn.functional;

namespace SelfAlign.Modeling;

/// <summary>What every layer's attention needs from one forward call.</summary>
/// <param name="Cos">RoPE cos table [batch, 1, seq, rotary_dim].</param>
/// <param name="SinSigned">RoPE signed sin table, same shape.</param>
/// <param name="Local">Gemma 3's tables of the sliding-window layers (their own base, no scaling); null where all layers share one RoPE.</param>
/// <param name="Masks">By sliding window (-1: full attention), the additive mask [batch, 1, seq, keys] in the compute dtype (0 or -inf), or null where plain causal attention needs none.</param>
/// <param name="IsCausal">True when the queries are the first positions of unpadded rows, so a null mask means causal.</param>
/// <param name="Matmul">Attend through <see cref="MatmulAttention"/> (more than one query on the CPU), which always gets a mask.</param>
/// <param name="Lora">The low-rank adapter added to the projections, if one is attached.</param>
internal sealed record AttentionContext(Tensor Cos, Tensor SinSigned, (Tensor Cos, Tensor SinSigned)? Local,
    IReadOnlyDictionary<int, Tensor?> Masks, bool IsCausal, bool Matmul, LoraAdapter? Lora);

/// <summary>
/// Grouped-query self-attention with the q/k/v projections fused into one matrix, optional q/k/v
/// and output biases (Qwen2, Llama, Starcoder2), optional per-head q/k RMSNorm (Qwen3, Gemma 3), a
/// sliding window (Mistral), and Gemma's query scale and score soft-capping.
/// </summary>
internal sealed class Attention : IDisposable
{
    readonly ModelConfig _c;
    readonly RotaryEmbedding _rope;
    readonly int? _window;

    public Attention(ModelConfig config, RotaryEmbedding rope, int? window, Tensor qkvWeight, Tensor? qkvBias,
        Tensor outputWeight, Tensor? outputBias, Tensor? qkNormWeight)
    {
        _c = config;
        _rope = rope;
        _window = window;
        QkvWeight = qkvWeight;
        QkvBias = qkvBias;
        OutputWeight = outputWeight;
        OutputBias = outputBias;
        QkNormWeight = qkNormWeight;
    }

    /// <summary>[(heads + 2 kv_heads) * head_dim, hidden]: q, k and v projections stacked.</summary>
    public Tensor QkvWeight { get; }
    public Tensor? QkvBias { get; }
    public Tensor OutputWeight { get; }
    public Tensor? OutputBias { get; }
    /// <summary>[heads + kv_heads, 1, head_dim]: the q_norm weight repeated per query head, then k_norm per key head.</summary>
    public Tensor? QkNormWeight { get; }

    /// <summary>x: [batch, seq, hidden] -> [batch, seq, hidden].</summary>
    public Tensor Forward(Tensor x, AttentionContext ctx, int layer, KvCache? cache)
    {
        using var scope = torch.NewDisposeScope();
        long b = x.shape[0], t = x.shape[1];
        int h = _c.NumHeads, kvh = _c.NumKvHeads, d = _c.HeadDim;

        // [b, t, heads_total * d] -> [b, heads_total, t, d]; q and k heads are normed and rotated together.
        var fused = F.linear(x, QkvWeight, QkvBias);
        if (ctx.Lora is not null) fused = ctx.Lora.Apply(fused, x, layer, LoraSite.Qkv);
        var qkv = fused.view(b, t, h + 2 * kvh, d).transpose(1, 2);
        var qk = qkv.narrow(1, 0, h + kvh);
        if (QkNormWeight is not null)
            qk = _c.Norm == NormKind.RmsOffset ? RmsNorm.ApplyOffset(qk, QkNormWeight, _c.NormEps) : RmsNorm.Apply(qk, QkNormWeight, _c.NormEps);
        var (cos, sin) = _window is not null && ctx.Local is { } local ? local : (ctx.Cos, ctx.SinSigned);
        qk = _rope.Apply(qk, cos, sin);
        var q = qk.narrow(1, 0, h);
        var k = qk.narrow(1, h, kvh);
        var v = qkv.narrow(1, h + kvh, kvh);
        if (cache is not null) (k, v) = cache.Append(layer, k, v);

        var mask = ctx.Masks[_window ?? -1];
        Tensor output;
        if (ctx.Matmul)
        {
            // A decode step attends over the cache's whole buffers, their unused slots zeros and
            // masked: the batched GEMMs would first copy views of the filled part (36 ms against 8
            // ms a step for 32 rows of the SmolLM2-135M shape).
            output = cache is not null && t == 1
                ? MatmulAttention.Apply(q, cache.Keys(layer), cache.Values(layer), mask!, _c.QueryScale, _c.AttentionSoftcap)
                : MatmulAttention.Apply(q, k, v, mask!, _c.QueryScale, _c.AttentionSoftcap);
        }
        else
        {
            // The fused kernel scales by head_dim^-1/2; a family with another scale (Gemma 2) pre-scales the queries.
            double extra = _c.QueryScale * Math.Sqrt(d);
            if (extra != 1) q = q.mul(Scalars.Of(extra));
            output = FusedAttention(q, k, v, mask, ctx.IsCausal, b, t);
        }
        var merged = output.transpose(1, 2).reshape(b, t, h * d);
        var projected = F.linear(merged, OutputWeight, OutputBias);
        if (ctx.Lora is not null) projected = ctx.Lora.Apply(projected, merged, layer, LoraSite.Output);
        return projected.MoveToOuterDisposeScope();
    }

    /// <summary>libtorch's fused kernel: q [b, heads, t, d], k and v [b, kv_heads, keys, d] -> [b, heads, t, d].</summary>
    Tensor FusedAttention(Tensor q, Tensor k, Tensor v, Tensor? mask, bool isCausal, long b, long t)
    {
        int h = _c.NumHeads, kvh = _c.NumKvHeads, d = _c.HeadDim;
        if (t == 1 && h != kvh)
        {
            // One query per row: fold the query heads of a group into the query axis so each KV
            // head serves its group without materializing repeated keys and values.
            var grouped = q.reshape(b, kvh, h / kvh, d);
            return F.scaled_dot_product_attention(grouped, k, v, mask).reshape(b, h, 1, d);
        }
        return F.scaled_dot_product_attention(q, RepeatKv(k), RepeatKv(v), mask, is_casual: mask is null && isCausal);
    }

    Tensor RepeatKv(Tensor kv)
    {
        int groups = _c.NumHeads / _c.NumKvHeads;
        if (groups == 1) return kv;
        long b = kv.shape[0], s = kv.shape[2];
        return kv.unsqueeze(2).expand(b, _c.NumKvHeads, groups, s, _c.HeadDim).reshape(b, _c.NumHeads, s, _c.HeadDim);
    }

    public void Dispose()
    {
        QkvWeight.Dispose();
        QkvBias?.Dispose();
        OutputWeight.Dispose();
        OutputBias?.Dispose();
        QkNormWeight?.Dispose();
    }
}
