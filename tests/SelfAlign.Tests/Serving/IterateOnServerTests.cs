using System.Text.Json.Nodes;
using SelfAlign.Inference;
using SelfAlign.Inference.Remote;
using SelfAlign.Modeling;
using SelfAlign.Pipeline;
using SelfAlign.Serving;
using SelfAlign.Tests.Cli;
using SelfAlign.Text;
using Xunit;

namespace SelfAlign.Tests.Serving;

/// <summary>
/// The loop on a server: SFT and two iterations generate and judge on <c>selfalign serve</c>, training
/// stays local, and after each training the stacked adapter is loaded onto the server, whose model
/// then answers as the locally merged one does.
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class IterateOnServerTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("selfalign-iterate-server-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Each_iterations_adapter_is_served_and_the_next_samples_with_it()
    {
        string seed = Path.Combine(_dir, "m0");
        var init = CliRunner.Run("init-model", "--config", Path.Combine(TestModels.Configs, "smollm2-135m", "config.json"), "--seed", "2", "--out", seed,
            "--layers", "2", "--dtype", "f32");
        Assert.True(init.Code == 0, init.Err);
        var load = new LoadOptions(TorchSharp.torch.ScalarType.Float32);
        await using var server = await OpenAiServer.StartAsync(new ServedModels(seed, "m0", load), new ServeOptions { Port = 0 });
        File.WriteAllLines(Path.Combine(_dir, "sft.jsonl"), File.ReadLines(Path.Combine(AppContext.BaseDirectory, "data", "seed", "sft_sample.jsonl")).Take(4));
        var lora = new JsonObject { ["r"] = 4, ["alpha"] = 8 };
        var config = new JsonObject
        {
            ["name"] = "served", ["seed_model"] = "m0", ["prompts"] = Path.Combine(AppContext.BaseDirectory, "data", "seed", "prompts_sample.jsonl"),
            ["prompts_per_iteration"] = 3, ["iterations"] = 2, ["seed"] = 4, ["dtype"] = "f32",
            ["generate"] = new JsonObject { ["samples"] = 3, ["temperature"] = 1.0, ["top_k"] = 40, ["max_new_tokens"] = 10, ["batch_size"] = 9 },
            ["judge"] = new JsonObject { ["kind"] = "yesno", ["category"] = "auto" },
            ["sft"] = new JsonObject { ["data"] = "sft.jsonl", ["learning_rate"] = 1e-3, ["batch_size"] = 2, ["max_length"] = 256, ["max_prompt_length"] = 160, ["lora"] = lora.DeepClone() },
            ["train"] = new JsonObject
            {
                ["loss"] = "dpo", ["beta"] = 0.1, ["learning_rate"] = 1e-3, ["batch_size"] = 1, ["epochs"] = 2, ["max_length"] = 256, ["max_prompt_length"] = 160,
                ["lora"] = lora.DeepClone(),
            },
            ["engine"] = new JsonObject { ["endpoints"] = new JsonArray(server.Address.ToString()), ["model"] = "m0" },
        };
        string file = Path.Combine(_dir, "run.json");
        File.WriteAllText(file, config.ToJsonString());
        string run = IterateStage.Run(IterateConfig.Load(file), Path.Combine(_dir, "runs"));

        using var remote = new RemoteLanguageModel(Tokenizer.Load(seed), new RemoteEngineOptions { Endpoints = [server.Address], Model = "served-iter-2" });
        // Each iteration sampled on the server from the model before it.
        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "iter-2", "candidates", "candidates.jsonl.manifest.json")))!;
        Assert.Equal("served-iter-1", (string?)manifest["config"]!["engine"]!["model"]);
        // The stack of three adapters (SFT, iterations 1 and 2) on the seed model answers as the merged model does.
        string merged = Path.Combine(run, "iter-2", "train", "model");
        using var weights = ModelFolder.Load(merged, load);
        var local = new LocalLanguageModel(weights, Tokenizer.Load(merged));
        var prompts = new[] { "Name a fruit.", "Count to three." }.Select(p => (IReadOnlyList<int>)local.Tokenizer.Encode(p)).ToList();
        int[] labels = [.. local.Tokenizer.Encode(" yes"), .. local.Tokenizer.Encode(" no")];
        foreach (var (a, b) in local.NextTokenLogProbs(prompts, labels).Zip(remote.NextTokenLogProbs(prompts, labels)))
            for (int k = 0; k < labels.Length; k++) Assert.Equal(a[k], b[k], 1e-3);
        var greedy = new SamplingOptions { Temperature = 0, MaxNewTokens = 8 };
        Assert.Equal(local.Generate([new GenerationRequest(prompts[0])], greedy).Single().TokenIds, remote.Generate([new GenerationRequest(prompts[0])], greedy).Single().TokenIds);
    }
}
