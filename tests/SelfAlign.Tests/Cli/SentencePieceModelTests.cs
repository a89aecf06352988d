using System.Text.Json.Nodes;
using SelfAlign.Text;
using Xunit;

namespace SelfAlign.Tests.Cli;

/// <summary>The loop's commands on small random Mistral and Phi-3 models with the real SentencePiece 32k tokenizer.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class SentencePieceModelTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("selfalign-sentencepiece-model-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string File(string name) => Path.Combine(_dir, name);

    [Theory]
    [InlineData("mistral"), InlineData("phi3")]
    public void GenerateJudgePairAndTrainRunOnIt(string family)
    {
        // Mistral-7B-v0.1's architecture made tiny; its vocabulary and tokenizer stay. Phi-3 (the same tokenizer type) with
        // fused projections and longrope whose original context the prompts outgrow.
        string arch = File("arch");
        Directory.CreateDirectory(arch);
        var config = JsonNode.Parse(System.IO.File.ReadAllText(Path.Combine(TestModels.Configs, "mistral-7b-v0.1", "config.json")))!.AsObject();
        config["hidden_size"] = 64;
        config["intermediate_size"] = 96;
        config["num_attention_heads"] = 4;
        config["num_key_value_heads"] = 2;
        config["num_hidden_layers"] = 1;
        if (family == "phi3")
        {
            config["model_type"] = "phi3";
            config["original_max_position_embeddings"] = 16;
            var factors = new JsonArray([.. Enumerable.Range(1, 8).Select(i => (JsonNode)JsonValue.Create(1.0 + i / 4.0))]);
            config["rope_scaling"] = new JsonObject { ["type"] = "longrope", ["short_factor"] = factors.DeepClone(), ["long_factor"] = factors };
        }
        System.IO.File.WriteAllText(Path.Combine(arch, "config.json"), config.ToJsonString());
        foreach (string f in new[] { TokenizerFolder.TokenizerFile, TokenizerFolder.ConfigFile })
            System.IO.File.Copy(Path.Combine(TestModels.Configs, "mistral-7b-v0.1", f), Path.Combine(arch, f));
        string model = File("model");
        void Ok(params string[] args)
        {
            var run = CliRunner.Run(args);
            Assert.True(run.Code == 0, $"{string.Join(' ', args)}: {run.Err}");
        }
        Ok("init-model", "--config", Path.Combine(arch, "config.json"), "--out", model, "--dtype", "f32");

        System.IO.File.WriteAllText(File("prompts.jsonl"), "{\"id\": \"a\", \"prompt\": \"Wie viel ist 2 + 2? 日本語で\"}\n{\"id\": \"b\", \"prompt\": \"Name a color.\"}\n");
        Ok("generate", "--model", model, "--prompts", File("prompts.jsonl"), "--out", File("candidates.jsonl"), "--samples", "3", "--max-new-tokens", "6");
        Ok("judge", "--model", model, "--candidates", File("candidates.jsonl"), "--out", File("judgments.jsonl"), "--format", "plain");
        Ok("pair", "--candidates", File("candidates.jsonl"), "--judgments", File("judgments.jsonl"), "--out", File("pairs.jsonl"));
        Assert.NotEmpty(System.IO.File.ReadAllLines(File("pairs.jsonl")));
        Ok("train", "--model", model, "--data", File("pairs.jsonl"), "--out", File("run"), "--max-steps", "1", "--batch-size", "1");
        Assert.True(System.IO.File.Exists(Path.Combine(File("run"), "model", "model.safetensors")));
        // Every candidate was judged (6 of them), with a probability.
        var judged = System.IO.File.ReadLines(File("judgments.jsonl")).Select(l => JsonNode.Parse(l)!["score"]!.GetValue<double>()).ToList();
        Assert.Equal(6, judged.Count);
        Assert.All(judged, s => Assert.InRange(s, 0, 1));
    }
}
