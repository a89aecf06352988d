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
