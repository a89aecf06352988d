using TorchSharp;
using static TorchSharp.torch;

namespace SelfAlign.Modeling;

/// <summary>
/// Random weights for an architecture, initialized as Hugging Face initializes a fresh model
/// (normal with standard deviation <c>initializer_range</c> for matrices, ones for norms (zeros for
/// Gemma's, which scale by 1 + weight), zeros for biases), deterministic by seed. For tests and benchmarks: no pretrained weights are needed.
/// </summary>
public static class RandomWeights
{
    /// <summary>Every tensor of the architecture, by Hugging Face name, on the CPU in <paramref name="dtype"/>.</summary>
    public static List<KeyValuePair<string, Tensor>> Create(ModelConfig config, long seed, ScalarType dtype, double std = 0.02)
    {
        var generator = new torch.Generator((ulong)seed);
        var tensors = new List<KeyValuePair<string, Tensor>>();
        foreach (var (name, shape) in WeightNames.Expected(config))
        {
            Tensor t = name.EndsWith(".bias") || (shape.Length == 1 && config.Norm == NormKind.RmsOffset) ? torch.zeros(shape, dtype)
                : shape.Length == 1 ? torch.ones(shape, dtype)
                : torch.randn(shape, ScalarType.Float32, generator: generator).mul_(Scalars.Of(std)).to(dtype);
            tensors.Add(KeyValuePair.Create(name, t));
        }
        return tensors;
    }
}
