using System.Text.Json.Nodes;
using SelfAlign.Modeling;
using Xunit;

namespace SelfAlign.Tests.Modeling;

public sealed class ModelConfigTests
{
    static ModelConfig Parse(string json) => ModelConfig.Parse(JsonNode.Parse(json)!.AsObject(), "config.json");

    const string Shape = "\"hidden_size\": 64, \"num_hidden_layers\": 3, \"num_attention_heads\": 4, \"intermediate_size\": 96, \"vocab_size\": 80";

    [Fact]
    public void ShippedConfigsParse()
    {
        var smol = ModelConfig.Load(Path.Combine(TestModels.Configs, "smollm2-135m", "config.json"));
        Assert.Equal(("llama", 576, 30, 9, 3, 64, true), (smol.ModelType, smol.HiddenSize, smol.NumLayers, smol.NumHeads, smol.NumKvHeads, smol.HeadDim, smol.TieWordEmbeddings));
        Assert.Equal(100000, smol.RopeTheta);
        var qwen = ModelConfig.Load(Path.Combine(TestModels.Configs, "qwen3-0.6b", "config.json"));
        Assert.True(qwen.QkNorm);
        Assert.Equal(128, qwen.HeadDim);
        Assert.All(qwen.SlidingWindows, w => Assert.Null(w));
        var llama = ModelConfig.Load(Path.Combine(TestModels.Configs, "llama-3.2-1b", "config.json"));
        Assert.Equal(new RopeScaling("llama3", 32, 1, 4, 8192), llama.RopeScaling);
        Assert.Equal([128001, 128008, 128009], llama.EosTokenIds);
    }

    [Fact]
    public void FamilyFlags()
    {
        var qwen2 = Parse($$$"""{"model_type": "qwen2", {{{Shape}}}, "use_sliding_window": true, "sliding_window": 16, "max_window_layers": 1}""");
        Assert.True(qwen2.AttentionBias);
        Assert.False(qwen2.OutputBias);
        Assert.Equal([null, 16, 16], qwen2.SlidingWindows);
        var mistral = Parse($$$"""{"model_type": "mistral", {{{Shape}}}, "sliding_window": 8, "num_key_value_heads": 2}""");
        Assert.Equal([8, 8, 8], mistral.SlidingWindows);
        Assert.Equal(2, mistral.NumKvHeads);
        var llama = Parse($$$"""{"model_type": "llama", {{{Shape}}}, "attention_bias": true, "rope_scaling": {"type": "linear", "factor": 4}}""");
        Assert.True(llama.AttentionBias && llama.OutputBias);
        Assert.Equal("linear", llama.RopeScaling!.Type);
        var v5 = Parse($$$"""{"model_type": "qwen3", {{{Shape}}}, "rope_parameters": {"rope_type": "default", "rope_theta": 1000000}}""");
        Assert.Equal(1e6, v5.RopeTheta);
        Assert.Null(v5.RopeScaling);
    }

    [Fact]
    public void Phi3MiniLongContextShapesParse()
    {
        // Phi-3-mini-128k's shape fields; its 48 short and long factors are stand-ins here.
        string factors = string.Join(", ", Enumerable.Range(0, 48).Select(i => (1 + i / 10.0).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var phi3 = Parse($$$"""
            {"model_type": "phi3", "hidden_size": 3072, "intermediate_size": 8192, "num_hidden_layers": 32, "num_attention_heads": 32,
             "num_key_value_heads": 32, "vocab_size": 32064, "max_position_embeddings": 131072, "original_max_position_embeddings": 4096,
             "rope_theta": 10000.0, "rms_norm_eps": 1e-05, "sliding_window": 262144, "tie_word_embeddings": false,
             "rope_scaling": {"type": "longrope", "short_factor": [{{{factors}}}], "long_factor": [{{{factors}}}]}}
            """);
        Assert.True(phi3.FusedProjections);
        Assert.Equal(96, phi3.HeadDim);
        Assert.Equal(("longrope", 4096, 32.0), (phi3.RopeScaling!.Type, phi3.RopeScaling.OriginalMaxPositionEmbeddings, phi3.RopeScaling.Factor));
        // Hugging Face's default: sqrt(1 + ln(131072 / 4096) / ln 4096).
        Assert.Equal(Math.Sqrt(1 + Math.Log(32) / Math.Log(4096)), phi3.RopeScaling.AttentionFactor, 12);
        Assert.All(phi3.SlidingWindows, w => Assert.Equal(262144, w));
        Assert.Equal(["model.layers.0.self_attn.qkv_proj.weight", "model.layers.0.self_attn.o_proj.weight", "model.layers.0.mlp.gate_up_proj.weight"],
            WeightNames.Expected(phi3).Select(w => w.Name).Where(n => n.StartsWith("model.layers.0.") && n.Contains("proj") && !n.Contains("down")));
        Assert.Equal(3821079552L, WeightNames.Expected(phi3).Sum(w => w.Shape.Aggregate(1L, (x, y) => x * y)));   // Phi-3-mini's 3.8B

        var e = Assert.Throws<ModelFormatException>(() => Parse($$$"""{"model_type": "phi3", {{{Shape}}}, "partial_rotary_factor": 0.75}"""));
        Assert.Contains("partial_rotary_factor", e.Message);
        e = Assert.Throws<ModelFormatException>(() => Parse($$$"""{"model_type": "phi3", {{{Shape}}}, "rope_scaling": {"type": "longrope", "short_factor": [1], "long_factor": [1]}}"""));
        Assert.Contains("1 values for 8 frequencies", e.Message);
    }

    [Fact]
    public void ErrorsNameFileAndField()
    {
        var e = Assert.Throws<ModelFormatException>(() => Parse("""{"model_type": "gpt2"}"""));
        Assert.Contains("config.json", e.Message);
        Assert.Contains("'model_type'", e.Message);
        Assert.Contains("gpt2", e.Message);

        e = Assert.Throws<ModelFormatException>(() => Parse("""{"model_type": "llama", "hidden_size": 64}"""));
        Assert.Contains("missing field 'num_attention_heads'", e.Message);

        e = Assert.Throws<ModelFormatException>(() => Parse($$$"""{"model_type": "llama", {{{Shape}}}, "rope_scaling": {"rope_type": "yarn", "factor": 2}}"""));
        Assert.Contains("rope_scaling.rope_type", e.Message);

        e = Assert.Throws<ModelFormatException>(() => Parse($$$"""{"model_type": "llama", {{{Shape}}}, "rope_scaling": {"rope_type": "llama3", "factor": 2}}"""));
        Assert.Contains("missing field 'rope_scaling.low_freq_factor'", e.Message);

        e = Assert.Throws<ModelFormatException>(() => Parse($$$"""{"model_type": "llama", {{{Shape}}}, "num_key_value_heads": "two"}"""));
        Assert.Contains("'num_key_value_heads'", e.Message);
    }
}
