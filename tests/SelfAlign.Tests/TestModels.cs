using SelfAlign.Modeling;
using static TorchSharp.torch;

namespace SelfAlign.Tests;

/// <summary>Small random-weight models and fixture paths shared by the tests.</summary>
internal static class TestModels
{
    /// <summary>Folder of the copied test fixtures.</summary>
    public static string Fixtures => Path.Combine(AppContext.BaseDirectory, "fixtures");

    /// <summary>Folder of the shipped architecture configs.</summary>
    public static string Configs => Path.Combine(AppContext.BaseDirectory, "configs");

    /// <summary>The shipped tokenizer folders, by short name (smollm2, qwen3, llama3).</summary>
    public static string TokenizerFolder(string name) => Path.Combine(Configs, name switch
    {
        "smollm2" => "smollm2-135m",
        "qwen3" => "qwen3-0.6b",
        "llama3" => "llama-3.2-1b",
        _ => throw new ArgumentException(name),
    });

    static readonly Dictionary<string, global::SelfAlign.Text.Tokenizer> LoadedTokenizers = [];

    /// <summary>A shipped tokenizer, loaded once per test run.</summary>
    public static global::SelfAlign.Text.Tokenizer Tokenizer(string name)
    {
        lock (LoadedTokenizers)
        {
            if (!LoadedTokenizers.TryGetValue(name, out var t))
                LoadedTokenizers[name] = t = global::SelfAlign.Text.Tokenizer.Load(TokenizerFolder(name));
            return t;
        }
    }

    /// <summary>A tiny config of the given family (GQA 4/2 heads, head_dim 16).</summary>
    public static ModelConfig Tiny(string type = "llama", int? window = null, bool tied = false, int layers = 2) => new()
    {
        ModelType = type,
        HiddenSize = 64,
        NumLayers = layers,
        NumHeads = 4,
        NumKvHeads = 2,
        HeadDim = 16,
        IntermediateSize = 96,
        VocabSize = 80,
        RmsNormEps = 1e-6,
        TieWordEmbeddings = tied,
        AttentionBias = type == "qwen2",
        QkNorm = type == "qwen3",
        SlidingWindows = Enumerable.Repeat(window, layers).ToArray(),
    };

    /// <summary>A model with random weights large enough that logits differ clearly between positions.</summary>
    public static CausalLm Random(ModelConfig config, ScalarType dtype = ScalarType.Float32, long seed = 7)
    {
        var weights = RandomWeights.Create(config, seed, ScalarType.Float32, std: 0.15);
        try
        {
            return CausalLm.FromWeights(config, weights.ToDictionary(w => w.Key, w => w.Value), new LoadOptions(dtype));
        }
        finally
        {
            foreach (var w in weights) w.Value.Dispose();
        }
    }

    /// <summary>Largest absolute difference between two tensors, as a double.</summary>
    public static double MaxAbsDiff(Tensor a, Tensor b)
    {
        using var diff = a.to(ScalarType.Float64).sub(b.to(ScalarType.Float64)).abs().max();
        return diff.item<double>();
    }
}
