using static TorchSharp.torch;

namespace SelfAlign.Modeling.Lora;

/// <summary>
/// One LoRA adapter equal to several applied in turn: each iteration of the loop trains an adapter
/// on the model the previous ones were merged into, so model t is the base plus the sum of every
/// adapter's s·B·A, and that sum is itself a LoRA of the summed rank. Stacked, B = [s₁B₁ … sₜBₜ]
/// and A = [A₁; …; Aₜ] with scale 1 (alpha = rank); a module one adapter does not target gets zero
/// rows there. A server that holds only the base model (vLLM with runtime LoRA loading) then serves
/// model t exactly, from one adapter.
/// </summary>
public static class AdapterStack
{
    /// <summary>Stacks <paramref name="adapters"/> (in training order; the order does not change the sum).</summary>
    public static LoraAdapter Stack(IReadOnlyList<LoraAdapter> adapters)
    {
        if (adapters.Count == 0) throw new ArgumentException("no adapters to stack");
        var model = adapters[0].Model;
        var modules = LoraModules.All(model).Where(m => adapters.Any(a => a.Modules.Contains(m.Name))).ToList();
        int rank = adapters.Sum(a => a.Config.Rank);
        var weights = new Dictionary<string, (Tensor A, Tensor B)>();
        foreach (var m in modules)
        {
            var aParts = new List<Tensor>();
            var bParts = new List<Tensor>();
            foreach (var adapter in adapters)
            {
                int r = adapter.Config.Rank;
                if (adapter.Modules.Contains(m.Name))
                {
                    var (a, b) = adapter[m.Name];
                    aParts.Add(a.detach().to(ScalarType.Float32).cpu());
                    bParts.Add(b.detach().to(ScalarType.Float32).cpu().mul(Scalars.Of(adapter.Config.Scale)));
                }
                else
                {
                    aParts.Add(zeros(r, m.In));
                    bParts.Add(zeros(m.Out, r));
                }
            }
            weights[m.Name] = (cat(aParts, 0), cat(bParts, 1));
            foreach (var t in aParts.Concat(bParts)) t.Dispose();
        }
        var targets = LoraConfig.Known.Where(s => modules.Any(m => m.Short == s)).ToArray();
        return LoraAdapter.FromTensors(model, new LoraConfig(rank, rank, 0, targets), weights, "stacked adapters");
    }
}
