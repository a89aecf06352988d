using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace SelfAlign.Modeling.Lora;

/// <summary>
/// A low-rank adapter for a <see cref="CausalLm"/>: float32 A and B matrices per targeted
/// projection, applied on top of the frozen base weights when attached to the model
/// (<see cref="CausalLm.Adapter"/>). The delta is computed in float32 and added to the base
/// output in float32 before rounding back to the compute dtype, as PEFT does for a bf16 base.
/// </summary>
public sealed class LoraAdapter : IDisposable
{
    readonly Dictionary<string, (Tensor A, Tensor B)> _weights;
    readonly Dictionary<(int, LoraSite), (LoraModule Module, Tensor? A, Tensor? B)[]> _sites = [];
    DropoutMasks _masks = new(0);

    LoraAdapter(ModelConfig model, LoraConfig config, Dictionary<string, (Tensor A, Tensor B)> weights)
    {
        Model = model;
        Config = config;
        _weights = weights;
        for (int i = 0; i < model.NumLayers; i++)
            foreach (var site in Enum.GetValues<LoraSite>())
            {
                var slots = LoraModules.Of(model, i, site)
                    .Select(m => _weights.TryGetValue(m.Name, out var w) ? (m, w.A, w.B) : (m, (Tensor?)null, (Tensor?)null)).ToArray();
                if (slots.Any(s => s.Item2 is not null)) _sites[(i, site)] = slots;
            }
    }

    /// <summary>
    /// A fresh adapter as PEFT initializes one: A uniform in ±1/√in (Kaiming-uniform with a = √5),
    /// B zero, so the adapted model starts equal to the base.
    /// </summary>
    public static LoraAdapter Create(ModelConfig model, LoraConfig config, ulong seed, Device? device = null)
    {
        config.Validate();
        var generator = new Generator(seed);
        var weights = new Dictionary<string, (Tensor, Tensor)>();
        var projections = LoraModules.All(model).Select(m => m.Short).Distinct().ToArray();
        foreach (var t in config.TargetModules ?? [])
            if (!projections.Contains(t))
                throw new InvalidSettingException("lora.target_modules", $"'{t}' is not a projection of this {model.ModelType} model (its projections: {string.Join(", ", projections)})");
        foreach (var m in LoraModules.All(model).Where(m => config.Adapts(m.Short)))
        {
            double bound = 1 / Math.Sqrt(m.In);
            var a = torch.rand([config.Rank, m.In], ScalarType.Float32, generator: generator).mul_(Scalars.Of(2 * bound)).sub_(Scalars.Of(bound));
            weights[m.Name] = (a.to(device ?? torch.CPU).DetachFromDisposeScope(),
                torch.zeros([m.Out, config.Rank], ScalarType.Float32, device ?? torch.CPU).DetachFromDisposeScope());
        }
        return new LoraAdapter(model, config, weights);
    }

    /// <summary>
    /// An adapter from named float32 tensors (module name -> A, B), checked against the model's
    /// shapes. Takes ownership of the tensors.
    /// </summary>
    internal static LoraAdapter FromTensors(ModelConfig model, LoraConfig config, Dictionary<string, (Tensor A, Tensor B)> weights, string source)
    {
        var modules = LoraModules.All(model).ToDictionary(m => m.Name);
        foreach (var (name, (a, b)) in weights)
        {
            if (!modules.TryGetValue(name, out var m))
                throw new ModelFormatException(source, $"adapter targets '{name}', which this model ({model.ModelType}, {model.NumLayers} layers) does not have");
            if (!a.shape.SequenceEqual([config.Rank, m.In]) || !b.shape.SequenceEqual([m.Out, config.Rank]))
                throw new ModelFormatException(source, $"adapter weights of '{name}' are [{string.Join(", ", a.shape)}] and [{string.Join(", ", b.shape)}]; rank {config.Rank} on this model needs [{config.Rank}, {m.In}] and [{m.Out}, {config.Rank}]");
        }
        return new LoraAdapter(model, config, weights);
    }

    /// <summary>The architecture it adapts.</summary>
    public ModelConfig Model { get; }
    /// <summary>Rank, alpha, dropout and targets.</summary>
    public LoraConfig Config { get; }

    /// <summary>Whether dropout is active (while training).</summary>
    public bool Training { get; set; }

    /// <summary>Restarts the dropout random stream; a trainer seeds it per step so a resumed run draws the same masks.</summary>
    public void SeedDropout(ulong seed)
    {
        _masks = new DropoutMasks(seed);
    }

    /// <summary>Module names, in model order.</summary>
    public IEnumerable<string> Modules => LoraModules.All(Model).Select(m => m.Name).Where(_weights.ContainsKey);

    /// <summary>A [rank, in] and B [out, rank] of a module.</summary>
    public (Tensor A, Tensor B) this[string module] => _weights[module];

    /// <summary>Every trainable tensor under PEFT's name (<c>base_model.model.&lt;module&gt;.lora_A.weight</c>, <c>lora_B.weight</c>).</summary>
    public IEnumerable<(string Name, Tensor Tensor)> Parameters()
    {
        foreach (var name in Modules)
        {
            var (a, b) = _weights[name];
            yield return (PeftAdapter.KeyA(name), a);
            yield return (PeftAdapter.KeyB(name), b);
        }
    }

    /// <summary>output + scale · B A dropout(x) for each targeted projection of the site, rows in fused order.</summary>
    internal Tensor Apply(Tensor output, Tensor x, int layer, LoraSite site)
    {
        if (!_sites.TryGetValue((layer, site), out var slots)) return output;
        using var scope = torch.NewDisposeScope();
        var x32 = x.to(ScalarType.Float32);
        bool drop = Training && Config.Dropout > 0;
        // Dropout's 1 / (1 - p) and the adapter's scale go on the rank-r activations, the smallest tensor on the way.
        var scale = Scalars.Of(drop ? Config.Scale / (1 - Config.Dropout) : Config.Scale);
        var parts = new Tensor[slots.Length];
        for (int i = 0; i < slots.Length; i++)
        {
            var (module, a, b) = slots[i];
            parts[i] = a is null
                ? torch.zeros([.. x.shape[..^1], module.Out], ScalarType.Float32, x.device)
                : F.linear(F.linear(drop ? x32.mul(_masks.Next(x32.shape, Config.Dropout, x.device)) : x32, a).mul(scale), b!);
        }
        var delta = parts.Length == 1 ? parts[0] : torch.cat(parts, -1);
        // bf16 + float32 adds in float32: one rounding back to the compute dtype, as in PEFT.
        return output.add(delta, Scalars.One).to(output.dtype).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Adds scale · B A to the model's weights (in float32, rounded once to the compute dtype),
    /// so the model alone computes what the model with this adapter computed.
    /// </summary>
    public void MergeInto(CausalLm model)
    {
        if (model.Adapter == this) throw new InvalidOperationException("detach the adapter before merging it into the same model");
        using var noGrad = torch.no_grad();
        var views = model.Parameters().ToDictionary(p => p.Name, p => p.Tensor);
        foreach (var name in Modules)
        {
            using var scope = torch.NewDisposeScope();
            var (a, b) = _weights[name];
            var w = views[name + ".weight"];
            var merged = w.to(ScalarType.Float32).add(b.matmul(a).mul(Scalars.Of(Config.Scale)).to(w.device), Scalars.One);
            w.copy_(merged.to(w.dtype));
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var (a, b) in _weights.Values)
        {
            a.Dispose();
            b.Dispose();
        }
    }
}
