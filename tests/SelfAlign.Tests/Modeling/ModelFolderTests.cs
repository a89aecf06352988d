using System.Text.Json.Nodes;
using SelfAlign.Modeling;
using SelfAlign.Modeling.Safetensors;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SelfAlign.Tests.Modeling;

public sealed class ModelFolderTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("selfalign-mf-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string CopyFixture(string variant)
    {
        string source = Path.Combine(TestModels.Fixtures, "parity", variant);
        string target = Path.Combine(_dir, variant);
        Directory.CreateDirectory(target);
        foreach (string f in Directory.GetFiles(source)) File.Copy(f, Path.Combine(target, Path.GetFileName(f)));
        return target;
    }

    [Fact]
    public void MissingConfigNamesTheFile()
    {
        string folder = CopyFixture("qwen2-bias");
        File.Delete(Path.Combine(folder, "config.json"));
        var e = Assert.Throws<ModelFormatException>(() => ModelFolder.Load(folder));
        Assert.Contains("config.json", e.Message);
    }

    [Fact]
    public void MissingWeightsAreNamed()
    {
        string folder = CopyFixture("qwen2-bias");
        File.Delete(Path.Combine(folder, "model.safetensors"));
        var e = Assert.Throws<ModelFormatException>(() => ModelFolder.Load(folder));
        Assert.Contains("model.safetensors", e.Message);
    }

    [Fact]
    public void TruncatedWeightsAreAClearError()
    {
        string folder = CopyFixture("qwen2-bias");
        string weights = Path.Combine(folder, "model.safetensors");
        var bytes = File.ReadAllBytes(weights);
        File.WriteAllBytes(weights, bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<ModelFormatException>(() => ModelFolder.Load(folder));
        Assert.Contains("model.safetensors", e.Message);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void ConfigThatImpliesOtherTensorsNamesTheTensor()
    {
        string folder = CopyFixture("qwen3-qknorm");
        string configPath = Path.Combine(folder, "config.json");
        var json = JsonNode.Parse(File.ReadAllText(configPath))!.AsObject();
        json["num_hidden_layers"] = 3;
        File.WriteAllText(configPath, json.ToJsonString());
        var e = Assert.Throws<ModelFormatException>(() => ModelFolder.Load(folder));
        Assert.Contains("model.safetensors.index.json", e.Message);
        Assert.Contains("model.layers.2.", e.Message);

        json["num_hidden_layers"] = 2;
        json["intermediate_size"] = 100;
        File.WriteAllText(configPath, json.ToJsonString());
        e = Assert.Throws<ModelFormatException>(() => ModelFolder.Load(folder));
        Assert.Contains("shape", e.Message);
    }

    [Theory]
    [InlineData("llama-llama3-rope"), InlineData("phi3-longrope")]
    public void SavedWeightsReloadToTheSameLogits(string variant)
    {
        string folder = CopyFixture(variant);
        using var model = ModelFolder.Load(folder, new LoadOptions(ScalarType.Float32));
        string copy = Path.Combine(_dir, "copy");
        ModelFolder.SaveWeights(model, copy, ScalarType.BFloat16, maxShardBytes: 50_000);
        File.Copy(Path.Combine(folder, "config.json"), Path.Combine(copy, "config.json"));
        Assert.True(File.Exists(Path.Combine(copy, Checkpoint.IndexFile)));
        using var reloaded = ModelFolder.Load(copy, new LoadOptions(ScalarType.Float32));
        using var ids = torch.tensor(new long[] { 5, 9, 11, 3 }).unsqueeze(0);
        using var a = model.Forward(ids);
        using var b = reloaded.Forward(ids);
        // The fixture is stored in bf16, so writing bf16 back loses nothing.
        Assert.Equal(0, TestModels.MaxAbsDiff(a, b));
        // Each family keeps its own tensor names: Phi-3 its fused projections.
        var names = JsonNode.Parse(File.ReadAllText(Path.Combine(copy, Checkpoint.IndexFile)))!["weight_map"]!.AsObject().Select(kv => kv.Key).ToHashSet();
        Assert.Equal(variant.StartsWith("phi3"), names.Contains("model.layers.0.self_attn.qkv_proj.weight") && names.Contains("model.layers.0.mlp.gate_up_proj.weight"));
        Assert.Equal(!variant.StartsWith("phi3"), names.Contains("model.layers.0.self_attn.q_proj.weight"));
    }
}
