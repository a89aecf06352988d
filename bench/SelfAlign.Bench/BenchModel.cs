using SelfAlign.Modeling;
using static TorchSharp.torch;

namespace SelfAlign.Bench;

/// <summary>The random-weight models the benchmarks run, and the FLOPs a forward pass of one costs.</summary>
internal static class BenchModel
{
    /// <summary>The repository root (the folder holding <c>configs/</c>), found above the benchmark binary.</summary>
    public static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (Directory.Exists(Path.Combine(dir.FullName, "configs"))) return dir.FullName;
        throw new DirectoryNotFoundException("configs/ not found above the benchmark binary");
    }

    /// <summary>The shipped SmolLM2-135M config and tokenizer folder.</summary>
    public static string SmolLm2Folder => Path.Combine(RepoRoot(), "configs", "smollm2-135m");

    /// <summary>The dtype the benchmarks compute in: the one <c>--dtype auto</c> picks on this machine.</summary>
    public static ScalarType DType => ComputeDType.Fastest;

    /// <summary>The name of <see cref="DType"/> for the printed reports.</summary>
    public static string DTypeName => ComputeDType.Name(DType);

    /// <summary>Bytes of one weight in <see cref="DType"/>: what a decode step reads per parameter.</summary>
    public static int BytesPerWeight => DType == ScalarType.Float32 ? 4 : 2;

    /// <summary>A model shaped by <paramref name="config"/> with random weights drawn by seed 0, in <see cref="DType"/>.</summary>
    public static CausalLm Random(ModelConfig config)
    {
        var weights = RandomWeights.Create(config, seed: 0, DType);
        try { return CausalLm.FromWeights(config, weights.ToDictionary(w => w.Key, w => w.Value)); }
        finally { foreach (var w in weights) w.Value.Dispose(); }
    }

    /// <summary>Forward FLOPs of <paramref name="model"/>.</summary>
    public static FlopCount Flops(CausalLm model)
    {
        var c = model.Config;
        long embedding = (long)c.VocabSize * c.HiddenSize;
        long blockParams = model.ParameterCount - embedding - (c.TieWordEmbeddings ? 0 : embedding);
        return new FlopCount(2.0 * blockParams, 4.0 * c.NumLayers * c.NumHeads * c.HeadDim, 2.0 * embedding);
    }
}

/// <summary>
/// Forward FLOPs: 2 per block weight per token, causal attention (scores and weighted sum) over
/// the keys a token sees, and the LM head per projected row.
/// </summary>
internal sealed record FlopCount(double BlockPerToken, double AttentionPerKey, double HeadPerRow)
{
    /// <summary>The token at <paramref name="position"/> (0-based), which sees position + 1 keys.</summary>
    public double Token(int position) => BlockPerToken + AttentionPerKey * (position + 1);

    /// <summary>Tokens [<paramref name="start"/>, <paramref name="end"/>) of one sequence.</summary>
    public double Tokens(int start, int end) => Enumerable.Range(start, end - start).Sum(Token);
}
