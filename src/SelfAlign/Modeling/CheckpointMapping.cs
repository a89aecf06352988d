using TorchSharp;
using static TorchSharp.torch;

namespace SelfAlign.Modeling;

/// <summary>
/// Maps between Hugging Face tensor names and the fused layout of <see cref="CausalLm"/>
/// (q/k/v stacked, gate/up stacked, q/k norms broadcast per head).
/// </summary>
internal static class CheckpointMapping
{
    /// <summary>
    /// Builds a model from named tensors. <paramref name="read"/> returns a CPU tensor in its stored
    /// dtype; each is converted to <paramref name="dtype"/> on <paramref name="device"/> and released,
    /// so peak memory stays near one copy of the weights.
    /// </summary>
    public static CausalLm Build(ModelConfig c, Func<string, Tensor> read, Device device, ScalarType dtype)
    {
        var owned = new List<IDisposable>();
        Tensor Load(string name)
        {
            using var stored = read(name);
            var t = stored.to(dtype, device).DetachFromDisposeScope();
            owned.Add(t);
            return t;
        }
        Tensor Fuse(string prefix, IReadOnlyList<(string Name, long Rows)> parts, string suffix)
        {
            var pieces = parts.Select(p => Load($"{prefix}{p.Name}.{suffix}")).ToArray();
            var fused = torch.cat(pieces, 0).DetachFromDisposeScope();
            foreach (var piece in pieces) piece.Dispose();
            owned.Add(fused);
            return fused;
        }
        Norm LoadNorm(string module)
        {
            var names = WeightNames.NormTensors(c, module).ToArray();
            return new Norm(c.Norm, Load(names[0]), names.Length > 1 ? Load(names[1]) : null, c.NormEps);
        }
        try
        {
            var rope = new RotaryEmbedding(c, device);
            owned.Add(rope);
            var localRope = c.LocalRopeTheta is double local ? new RotaryEmbedding(c with { RopeTheta = local, RopeScaling = null }, device) : null;
            if (localRope is not null) owned.Add(localRope);
            var layers = new DecoderLayer[c.NumLayers];
            for (int i = 0; i < c.NumLayers; i++)
            {
                string p = WeightNames.Layer(i);
                Tensor? qkNorm = null;
                if (c.QkNorm)
                {
                    using var q = Load(p + WeightNames.QueryNorm);
                    using var k = Load(p + WeightNames.KeyNorm);
                    qkNorm = torch.cat([q.expand(c.NumHeads, c.HeadDim), k.expand(c.NumKvHeads, c.HeadDim)], 0)
                        .unsqueeze(1).contiguous().DetachFromDisposeScope();
                    owned.Add(qkNorm);
                }
                var attention = new Attention(c, rope, c.SlidingWindows[i],
                    Fuse(p, WeightNames.Qkv(c), "weight"),
                    c.AttentionBias ? Fuse(p, WeightNames.Qkv(c), "bias") : null,
                    Load($"{p}{WeightNames.OutputProjection}.weight"),
                    c.OutputBias ? Load($"{p}{WeightNames.OutputProjection}.bias") : null,
                    qkNorm);
                var mlp = new Mlp(
                    Fuse(p, WeightNames.GateUp(c), "weight"),
                    c.MlpBias ? Fuse(p, WeightNames.GateUp(c), "bias") : null,
                    Load($"{p}{WeightNames.Down(c)}.weight"),
                    c.MlpBias ? Load($"{p}{WeightNames.Down(c)}.bias") : null,
                    c.Activation, c.GatedMlp);
                var norms = WeightNames.BlockNorms(c).ToDictionary(n => n.Role, n => LoadNorm(p + n.Name));
                layers[i] = new DecoderLayer(attention, mlp, norms);
            }
            return new CausalLm(c, device, dtype, Load(WeightNames.Embedding), layers, LoadNorm(WeightNames.FinalNorm),
                c.TieWordEmbeddings ? null : Load(WeightNames.LmHead), rope, localRope);
        }
        catch
        {
            foreach (var o in owned) o.Dispose();
            throw;
        }
    }

    /// <summary>The model's weights under their Hugging Face names, as views (the tied head is not repeated).</summary>
    public static IEnumerable<(string Name, Tensor Tensor)> Split(CausalLm model)
    {
        var c = model.Config;
        yield return (WeightNames.Embedding, model.Embedding);
        for (int i = 0; i < c.NumLayers; i++)
        {
            string p = WeightNames.Layer(i);
            var layer = model.Layers[i];
            var a = layer.Attention;
            foreach (var (name, start, rows) in Offsets(WeightNames.Qkv(c)))
            {
                yield return ($"{p}{name}.weight", a.QkvWeight.narrow(0, start, rows));
                if (a.QkvBias is not null) yield return ($"{p}{name}.bias", a.QkvBias.narrow(0, start, rows));
            }
            yield return ($"{p}{WeightNames.OutputProjection}.weight", a.OutputWeight);
            if (a.OutputBias is not null) yield return ($"{p}{WeightNames.OutputProjection}.bias", a.OutputBias);
            if (a.QkNormWeight is not null)
            {
                yield return (p + WeightNames.QueryNorm, a.QkNormWeight[0, 0]);
                yield return (p + WeightNames.KeyNorm, a.QkNormWeight[c.NumHeads, 0]);
            }
            var mlp = layer.Mlp;
            foreach (var (name, start, rows) in Offsets(WeightNames.GateUp(c)))
            {
                yield return ($"{p}{name}.weight", mlp.InputWeight.narrow(0, start, rows));
                if (mlp.InputBias is not null) yield return ($"{p}{name}.bias", mlp.InputBias.narrow(0, start, rows));
            }
            yield return ($"{p}{WeightNames.Down(c)}.weight", mlp.DownWeight);
            if (mlp.DownBias is not null) yield return ($"{p}{WeightNames.Down(c)}.bias", mlp.DownBias);
            foreach (var norm in Norms(c, p, layer)) yield return norm;
        }
        foreach (var norm in NormTensors(WeightNames.FinalNorm, model.FinalNorm)) yield return norm;
        if (model.LmHeadWeight is not null) yield return (WeightNames.LmHead, model.LmHeadWeight);
    }

    /// <summary>A block's norm tensors in checkpoint order.</summary>
    static IEnumerable<(string Name, Tensor Tensor)> Norms(ModelConfig c, string prefix, DecoderLayer layer) =>
        WeightNames.BlockNorms(c).SelectMany(n => NormTensors(prefix + n.Name, layer.Norms[n.Role]));

    static IEnumerable<(string Name, Tensor Tensor)> NormTensors(string module, Norm norm)
    {
        yield return (module + ".weight", norm.Weight);
        if (norm.Bias is not null) yield return (module + ".bias", norm.Bias);
    }

    /// <summary>Each projection's first row within the fused tensor.</summary>
    static IEnumerable<(string Name, long Start, long Rows)> Offsets(IReadOnlyList<(string Name, long Rows)> parts)
    {
        long start = 0;
        foreach (var (name, rows) in parts)
        {
            yield return (name, start, rows);
            start += rows;
        }
    }

    /// <summary>
    /// The model's own weight tensors (fused where the model fuses them), named after the first
    /// Hugging Face tensor each holds: what full fine-tuning trains. The q/k norms are left
    /// out: the model keeps them broadcast per head, so a gradient step would untie the copies.
    /// </summary>
    public static IEnumerable<(string Name, Tensor Tensor)> Leaves(CausalLm model)
    {
        yield return (WeightNames.Embedding, model.Embedding);
        for (int i = 0; i < model.Config.NumLayers; i++)
        {
            string p = WeightNames.Layer(i);
            var layer = model.Layers[i];
            string qkv = WeightNames.Qkv(model.Config)[0].Name, gateUp = WeightNames.GateUp(model.Config)[0].Name;
            string down = WeightNames.Down(model.Config);
            (string, Tensor?)[] own =
            [
                ($"{p}{qkv}.weight", layer.Attention.QkvWeight), ($"{p}{qkv}.bias", layer.Attention.QkvBias),
                ($"{p}{WeightNames.OutputProjection}.weight", layer.Attention.OutputWeight), ($"{p}{WeightNames.OutputProjection}.bias", layer.Attention.OutputBias),
                ($"{p}{gateUp}.weight", layer.Mlp.InputWeight), ($"{p}{gateUp}.bias", layer.Mlp.InputBias),
                ($"{p}{down}.weight", layer.Mlp.DownWeight), ($"{p}{down}.bias", layer.Mlp.DownBias),
            ];
            foreach (var (name, t) in own)
                if (t is not null) yield return (name, t);
            foreach (var norm in Norms(model.Config, p, layer)) yield return norm;
        }
        foreach (var norm in NormTensors(WeightNames.FinalNorm, model.FinalNorm)) yield return norm;
        if (model.LmHeadWeight is not null) yield return (WeightNames.LmHead, model.LmHeadWeight);
    }
}
