using TorchSharp;
using static TorchSharp.torch;
using SelfAlign.Modeling.Lora;
using F = TorchSharp.torch.nn.functional;

namespace SelfAlign.Modeling;

/// <summary>
/// The feed-forward block: down(act(gate(x)) · up(x)) with gate and up fused into one matrix
/// (SwiGLU, Gemma's GeGLU), or down(act(up(x))) where the family's MLP is not gated (Starcoder2).
/// </summary>
internal sealed class Mlp(Tensor inputWeight, Tensor? inputBias, Tensor downWeight, Tensor? downBias, Activation activation, bool gated) : IDisposable
{
    /// <summary>[2 * intermediate, hidden]: gate rows, then up rows; [intermediate, hidden] when not gated.</summary>
    public Tensor InputWeight { get; } = inputWeight;
    public Tensor? InputBias { get; } = inputBias;
    public Tensor DownWeight { get; } = downWeight;
    public Tensor? DownBias { get; } = downBias;

    /// <summary>x: [batch, seq, hidden] -> [batch, seq, hidden], through the adapter's deltas when one is attached.</summary>
    public Tensor Forward(Tensor x, LoraAdapter? lora, int layer)
    {
        using var scope = torch.NewDisposeScope();
        var projected = F.linear(x, InputWeight, InputBias);
        if (lora is not null) projected = lora.Apply(projected, x, layer, LoraSite.GateUp);
        Tensor hidden;
        if (gated)
        {
            var halves = projected.chunk(2, -1);
            hidden = Activate(halves[0]).mul(halves[1]);
        }
        else
        {
            hidden = Activate(projected);
        }
        var down = F.linear(hidden, DownWeight, DownBias);
        if (lora is not null) down = lora.Apply(down, hidden, layer, LoraSite.Down);
        return down.MoveToOuterDisposeScope();
    }

    Tensor Activate(Tensor x) => activation switch
    {
        Activation.Silu => F.silu(x),
        Activation.Gelu => F.gelu(x),
        _ => F.gelu(x, TorchSharp.Modules.GELU.Approximate.tanh, false),
    };

    public void Dispose()
    {
        InputWeight.Dispose();
        InputBias?.Dispose();
        DownWeight.Dispose();
        DownBias?.Dispose();
    }
}
