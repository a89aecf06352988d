using TorchSharp;
using static TorchSharp.torch;
using SelfAlign.Modeling.Lora;
using F = TorchSharp.torch.nn.functional;

namespace SelfAlign.Modeling;

/// <summary>The SwiGLU MLP: down(silu(gate(x)) * up(x)), with gate and up fused into one matrix.</summary>
internal sealed class Mlp(Tensor gateUpWeight, Tensor? gateUpBias, Tensor downWeight, Tensor? downBias) : IDisposable
{
    /// <summary>[2 * intermediate, hidden]: gate rows, then up rows.</summary>
    public Tensor GateUpWeight { get; } = gateUpWeight;
    public Tensor? GateUpBias { get; } = gateUpBias;
    public Tensor DownWeight { get; } = downWeight;
    public Tensor? DownBias { get; } = downBias;

    /// <summary>x: [batch, seq, hidden] -> [batch, seq, hidden], through the adapter's deltas when one is attached.</summary>
    public Tensor Forward(Tensor x, LoraAdapter? lora, int layer)
    {
        using var scope = torch.NewDisposeScope();
        var gateUp = F.linear(x, GateUpWeight, GateUpBias);
        if (lora is not null) gateUp = lora.Apply(gateUp, x, layer, LoraSite.GateUp);
        var halves = gateUp.chunk(2, -1);
        var product = F.silu(halves[0]).mul(halves[1]);
        var down = F.linear(product, DownWeight, DownBias);
        if (lora is not null) down = lora.Apply(down, product, layer, LoraSite.Down);
        return down.MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        GateUpWeight.Dispose();
        GateUpBias?.Dispose();
        DownWeight.Dispose();
        DownBias?.Dispose();
    }
}
