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

        var e = Assert.Throws<ModelFormatException>(() => Parse($$$"""{"model_type": "phi3", {{{Shape}}}, "rope_scaling": {"type": "longrope", "short_factor": [1], "long_factor": [1]}}"""));
        Assert.Contains("1 values for 8 frequencies", e.Message);
    }

    [Fact]
    public void PartialRotaryIsPhi3s()
    {
        // head_dim 16: 0.75 rotates 12 dimensions, 6 frequencies, also where transformers 5 writes it.
        Assert.Equal(12, Parse($$$"""{"model_type": "phi3", {{{Shape}}}, "partial_rotary_factor": 0.75}""").RotaryDim);
        Assert.Equal(8, Parse($$$"""{"model_type": "phi3", {{{Shape}}}, "rope_parameters": {"rope_theta": 10000, "partial_rotary_factor": 0.5}}""").RotaryDim);
        Assert.Equal(16, Parse($$$"""{"model_type": "llama", {{{Shape}}}}""").RotaryDim);
        var e = Assert.Throws<ModelFormatException>(() => Parse($$$"""{"model_type": "phi3", {{{Shape}}}, "partial_rotary_factor": 0.75, "rope_scaling": {"type": "longrope", "short_factor": [1, 1, 1, 1, 1, 1, 1, 1], "long_factor": [1, 1, 1, 1, 1, 1, 1, 1]}}"""));
        Assert.Contains("8 values for 6 frequencies", e.Message);
        e = Assert.Throws<ModelFormatException>(() => Parse($$$"""{"model_type": "llama", {{{Shape}}}, "partial_rotary_factor": 0.5}"""));
        Assert.Contains("partial_rotary_factor", e.Message);
    }

    static long Parameters(ModelConfig c) => WeightNames.Expected(c).Sum(w => w.Shape.Aggregate(1L, (x, y) => x * y));

    [Fact]
    public void GemmaStarcoder2AndPhi3ConfigsParseToTheirPublishedSizes()
    {
        var gemma2 = ModelConfig.Load(Path.Combine(TestModels.Configs, "gemma-2-2b", "config.json"));
        Assert.Equal(2614341888L, Parameters(gemma2));   // Gemma-2-2B's 2.6B
        Assert.Equal((NormKind.RmsOffset, Activation.GeluTanh, true, true, true), (gemma2.Norm, gemma2.Activation, gemma2.GatedMlp, gemma2.SandwichNorms, gemma2.TieWordEmbeddings));
        Assert.Equal((50.0, 30.0, 1 / 16.0), (gemma2.AttentionSoftcap, gemma2.FinalLogitSoftcap, gemma2.QueryScale));
        Assert.Equal([4096, null, 4096, null], gemma2.SlidingWindows.Take(4));
        Assert.Equal(["model.layers.0.input_layernorm.weight", "model.layers.0.post_attention_layernorm.weight",
            "model.layers.0.pre_feedforward_layernorm.weight", "model.layers.0.post_feedforward_layernorm.weight"],
            WeightNames.Expected(gemma2).Select(w => w.Name).Where(n => n.StartsWith("model.layers.0.") && n.Contains("layernorm")));

        var starcoder2 = ModelConfig.Load(Path.Combine(TestModels.Configs, "starcoder2-3b", "config.json"));
        Assert.Equal(3030371328L, Parameters(starcoder2));   // Starcoder2-3B's 3.03B
        Assert.Equal((NormKind.LayerNorm, 1e-5, false, true), (starcoder2.Norm, starcoder2.NormEps, starcoder2.GatedMlp, starcoder2.TieWordEmbeddings));
        Assert.True(starcoder2.AttentionBias && starcoder2.OutputBias && starcoder2.MlpBias);
        Assert.All(starcoder2.SlidingWindows, w => Assert.Equal(4096, w));
        Assert.Contains("model.norm.bias", WeightNames.Expected(starcoder2).Select(w => w.Name));
        Assert.Contains("model.layers.29.mlp.c_proj.bias", WeightNames.Expected(starcoder2).Select(w => w.Name));

        var gemma3 = ModelConfig.Load(Path.Combine(TestModels.Configs, "gemma-3-1b", "config.json"));
        Assert.Equal(999885952L, Parameters(gemma3));   // Gemma-3-1B's 1.0B
        Assert.Equal((1e6, (double?)10000, (double?)null, true), (gemma3.RopeTheta, gemma3.LocalRopeTheta, gemma3.FinalLogitSoftcap, gemma3.QkNorm));
        Assert.Equal([512, 512, 512, 512, 512, null], gemma3.SlidingWindows.Take(6));
        Assert.Equal([1, 106], gemma3.EosTokenIds);

        var phi3 = ModelConfig.Load(Path.Combine(TestModels.Configs, "phi-3-mini-4k", "config.json"));
        Assert.Equal(3821079552L, Parameters(phi3));
        Assert.Null(phi3.RopeScaling);
        Assert.All(phi3.SlidingWindows, w => Assert.Equal(2047, w));
    }

    [Fact]
    public void GemmaDefaultsFollowItsConfigClasses()
    {
        // Gemma ties and takes the tanh GELU unless hidden_activation says otherwise (early configs say "gelu" in hidden_act).
        var gemma = Parse($$$"""{"model_type": "gemma", {{{Shape}}}, "hidden_act": "gelu"}""");
        Assert.Equal((Activation.GeluTanh, true, false, 8192), (gemma.Activation, gemma.TieWordEmbeddings, gemma.SandwichNorms, gemma.MaxPositionEmbeddings));
        Assert.All(gemma.SlidingWindows, w => Assert.Null(w));
        Assert.Null(gemma.AttentionSoftcap);
        // Gemma 2: absent caps take the class defaults, an explicit null turns one off; layer_types overrides the alternation.
        var gemma2 = Parse($$$"""{"model_type": "gemma2", {{{Shape}}}, "final_logit_softcapping": null, "layer_types": ["full_attention", "sliding_attention", "sliding_attention"]}""");
        Assert.Equal((50.0, (double?)null, 1 / 16.0), (gemma2.AttentionSoftcap, gemma2.FinalLogitSoftcap, gemma2.QueryScale));
        Assert.Equal([null, 4096, 4096], gemma2.SlidingWindows);
        var e = Assert.Throws<ModelFormatException>(() => Parse($$$"""{"model_type": "gemma2", {{{Shape}}}, "hidden_activation": "relu"}"""));
        Assert.Contains("'hidden_activation'", e.Message);
        // Gemma 3 as transformers 5 writes it: RoPE parameters per layer type.
        var gemma3 = Parse($$$$"""
            {"model_type": "gemma3_text", {{{{Shape}}}}, "layer_types": ["sliding_attention", "full_attention", "sliding_attention"],
             "rope_parameters": {"full_attention": {"rope_type": "linear", "factor": 8.0, "rope_theta": 1000000.0},
                                 "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}}}
            """);
        Assert.Equal((1e6, (double?)10000, "linear", 8.0), (gemma3.RopeTheta, gemma3.LocalRopeTheta, gemma3.RopeScaling!.Type, gemma3.RopeScaling.Factor));
        Assert.Equal([4096, null, 4096], gemma3.SlidingWindows);
        Assert.Null(gemma3.AttentionSoftcap);
        // Starcoder2 without use_bias has biases (its default); with use_bias false none.
        Assert.False(Parse($$$"""{"model_type": "starcoder2", {{{Shape}}}, "use_bias": false}""").MlpBias);
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
