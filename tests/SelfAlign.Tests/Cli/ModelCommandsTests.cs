using SelfAlign.Cli;
using SelfAlign.Modeling;
using Xunit;

namespace SelfAlign.Tests.Cli;

/// <summary>init-model and info, end to end through the command line.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class ModelCommandsTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("selfalign-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    [Theory]
    [InlineData("smollm2-135m", 2, "llama", "9 / 3")]
    [InlineData("qwen3-0.6b", 1, "qwen3", "16 / 8")]
    [InlineData("gemma-2-2b", 1, "gemma2", "8 / 4")]
    [InlineData("gemma-3-1b", 1, "gemma3_text", "4 / 1")]
    [InlineData("starcoder2-3b", 1, "starcoder2", "24 / 2")]
    [InlineData("phi-3-mini-4k", 1, "phi3", "32 / 32")]
    public void InitModelThenInfoDescribesTheFolder(string config, int layers, string type, string heads)
    {
        string output = Path.Combine(_dir, config);
        var init = Run("init-model", "--config", Path.Combine(TestModels.Configs, config, "config.json"),
            "--seed", "3", "--out", output, "--layers", layers.ToString());
        Assert.True(init.Code == 0, init.Err);
        Assert.True(File.Exists(Path.Combine(output, "model.safetensors")));

        var info = Run("info", output);
        Assert.True(info.Code == 0, info.Err);
        Assert.Contains(type, info.Out);
        Assert.Contains(heads, info.Out);
        Assert.Contains("BF16", info.Out);

        // The folder loads and runs: the real format, not just headers.
        using var model = ModelFolder.Load(output);
        Assert.Equal(layers, model.Config.NumLayers);
        using var ids = TorchSharp.torch.tensor(new long[] { 1, 2, 3 }).unsqueeze(0);
        using var logits = model.Forward(ids, positions: LogitPositions.Last);
        Assert.Equal(model.Config.VocabSize, logits.shape[2]);
    }

    [Fact]
    public void SameSeedWritesIdenticalWeights()
    {
        string config = Path.Combine(TestModels.Configs, "smollm2-135m", "config.json");
        Run("init-model", "--config", config, "--seed", "5", "--out", Path.Combine(_dir, "a"), "--layers", "1");
        Run("init-model", "--config", config, "--seed", "5", "--out", Path.Combine(_dir, "b"), "--layers", "1");
        Run("init-model", "--config", config, "--seed", "6", "--out", Path.Combine(_dir, "c"), "--layers", "1");
        byte[] a = File.ReadAllBytes(Path.Combine(_dir, "a", "model.safetensors"));
        Assert.Equal(a, File.ReadAllBytes(Path.Combine(_dir, "b", "model.safetensors")));
        Assert.NotEqual(a, File.ReadAllBytes(Path.Combine(_dir, "c", "model.safetensors")));
    }

    [Fact]
    public void InfoOnABrokenFolderIsOneClearLine()
    {
        string output = Path.Combine(_dir, "m");
        Run("init-model", "--config", Path.Combine(TestModels.Configs, "qwen3-0.6b", "config.json"), "--out", output, "--layers", "1", "--max-shard-bytes", "100000000");
        string shard = Directory.GetFiles(output, "model-00002-*.safetensors").Single();
        var bytes = File.ReadAllBytes(shard);
        File.WriteAllBytes(shard, bytes[..1000]);
        var info = Run("info", output);
        Assert.Equal(2, info.Code);
        Assert.StartsWith("error: ", info.Err);
        Assert.Contains(Path.GetFileName(shard), info.Err);

        File.Delete(Path.Combine(output, "config.json"));
        info = Run("info", output);
        Assert.Equal(2, info.Code);
        Assert.Contains("config.json", info.Err);
    }
}

/// <summary>Tests that redirect the process-wide console must not run in parallel.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ConsoleCollection
{
    public const string Name = "console";
}
