using TorchSharp;
using static TorchSharp.torch;
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

    public Tensor Forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var halves = F.linear(x, GateUpWeight, GateUpBias).chunk(2, -1);
        var product = F.silu(halves[0]).mul_(halves[1]);
        return F.linear(product, DownWeight, DownBias).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        GateUpWeight.Dispose();
        GateUpBias?.Dispose();
        DownWeight.Dispose();
        DownBias?.Dispose();
    }
}
