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

    /// <summary>
    /// A tiny config of the given family (GQA 4/2 heads, head_dim 16), parsed as a config.json is, so each
    /// family's defaults apply. Gemma 2's soft-caps, Gemma's query scale, Gemma 3's layer pattern and
    /// scaled global RoPE and Phi-3's partial rotary are set where they change the numbers.
    /// </summary>
    public static ModelConfig Tiny(string type = "llama", int? window = null, bool tied = false, int layers = 2)
    {
        var json = new System.Text.Json.Nodes.JsonObject
        {
            ["model_type"] = type, ["hidden_size"] = 64, ["num_hidden_layers"] = layers, ["num_attention_heads"] = 4,
            ["num_key_value_heads"] = 2, ["head_dim"] = 16, ["intermediate_size"] = 96, ["vocab_size"] = 80,
            ["rms_norm_eps"] = 1e-6, ["tie_word_embeddings"] = tied, ["sliding_window"] = window,
        };
        if (type == "gemma2")
        {
            json["attn_logit_softcapping"] = 2.0;
            json["final_logit_softcapping"] = 5.0;
            json["query_pre_attn_scalar"] = 24;
        }
        if (type == "gemma3_text")
        {
            json["query_pre_attn_scalar"] = 24;
            json["sliding_window_pattern"] = 2;
            json["rope_scaling"] = new System.Text.Json.Nodes.JsonObject { ["rope_type"] = "linear", ["factor"] = 8.0 };
        }
        if (type == "phi3") json["partial_rotary_factor"] = 0.5;
        return ModelConfig.Parse(json, "config.json");
    }

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
