using System.Text.Json.Nodes;
using SelfAlign.Modeling;
using SelfAlign.Modeling.Safetensors;
using SelfAlign.Text;
using Xunit;

namespace SelfAlign.Tests.Cli;

/// <summary>
/// The loop's commands on a small random model of each family beyond Llama and Qwen: the shipped
/// config made tiny, with a real tokenizer (Mistral's SentencePiece 32k; SmolLM2's byte-level BPE
/// for Starcoder2, whose vocabulary has the same 49,152 size).
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class ModelFamilyTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("selfalign-family-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string File(string name) => Path.Combine(_dir, name);

    static void Ok(params string[] args)
    {
        var run = CliRunner.Run(args);
        Assert.True(run.Code == 0, $"{string.Join(' ', args)}: {run.Err}");
    }

    /// <summary>A tiny config of the family from its shipped one, with the tokenizer files beside it.</summary>
    string Architecture(string family)
    {
        var (config, tokenizer) = family switch
        {
            "mistral" => ("mistral-7b-v0.1", "mistral-7b-v0.1"),
            "phi3" => ("phi-3-mini-4k", "mistral-7b-v0.1"),
            "gemma" or "gemma2" => ("gemma-2-2b", "mistral-7b-v0.1"),
            "gemma3_text" => ("gemma-3-1b", "mistral-7b-v0.1"),
            _ => ("starcoder2-3b", "smollm2-135m"),
        };
        var json = JsonNode.Parse(System.IO.File.ReadAllText(Path.Combine(TestModels.Configs, config, "config.json")))!.AsObject();
        json["model_type"] = family;
        json["hidden_size"] = 64;
        json["intermediate_size"] = 96;
        json["num_attention_heads"] = 4;
        json["num_key_value_heads"] = 2;
        json["head_dim"] = 16;
        json["num_hidden_layers"] = 2;
        json["vocab_size"] = tokenizer == "smollm2-135m" ? 49152 : 32000;
        // Windows and contexts short enough that the prompts cross them.
        if (family != "gemma") json["sliding_window"] = 8;
        if (family is "gemma2" or "gemma3_text") json["query_pre_attn_scalar"] = 24;
        if (family == "gemma3_text") json["sliding_window_pattern"] = 2;
        if (family == "phi3")
        {
            // Partial rotary with longrope whose original context the prompts outgrow.
            json["partial_rotary_factor"] = 0.5;
            json["original_max_position_embeddings"] = 16;
            var factors = new JsonArray([.. Enumerable.Range(1, 4).Select(i => (JsonNode)JsonValue.Create(1.0 + i / 4.0))]);
            json["rope_scaling"] = new JsonObject { ["type"] = "longrope", ["short_factor"] = factors.DeepClone(), ["long_factor"] = factors };
        }
        string arch = File("arch");
        Directory.CreateDirectory(arch);
        System.IO.File.WriteAllText(Path.Combine(arch, "config.json"), json.ToJsonString());
        foreach (string f in new[] { TokenizerFolder.TokenizerFile, TokenizerFolder.ConfigFile })
            if (System.IO.File.Exists(Path.Combine(TestModels.Configs, tokenizer, f)))
                System.IO.File.Copy(Path.Combine(TestModels.Configs, tokenizer, f), Path.Combine(arch, f));
        return Path.Combine(arch, "config.json");
    }

    [Theory]
    [InlineData("mistral", "f32", new[] { "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj" })]
    [InlineData("phi3", "f16", new[] { "qkv_proj", "o_proj", "gate_up_proj", "down_proj" })]
    [InlineData("gemma", "bf16", new[] { "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj" })]
    [InlineData("gemma2", "bf16", new[] { "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj" })]
    [InlineData("gemma3_text", "f32", new[] { "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj" })]
    [InlineData("starcoder2", "f32", new[] { "q_proj", "k_proj", "v_proj", "o_proj", "c_fc", "c_proj" })]
    public void InfoGenerateJudgePairTrainAndBenchRunOnIt(string family, string dtype, string[] projections)
    {
        string model = File("model");
        Ok("init-model", "--config", Architecture(family), "--out", model, "--dtype", dtype);
        var info = CliRunner.Run("info", model);
        Assert.True(info.Code == 0, info.Err);
        Assert.Contains(family, info.Out);

        System.IO.File.WriteAllText(File("prompts.jsonl"), "{\"id\": \"a\", \"prompt\": \"Wie viel ist 2 + 2? 日本語で\"}\n{\"id\": \"b\", \"prompt\": \"Name a color.\"}\n");
        Ok("generate", "--model", model, "--prompts", File("prompts.jsonl"), "--out", File("candidates.jsonl"), "--samples", "3", "--max-new-tokens", "6");
        Ok("judge", "--model", model, "--candidates", File("candidates.jsonl"), "--out", File("judgments.jsonl"), "--format", "plain");
        // Every candidate was judged (6 of them), with a probability.
        var judged = System.IO.File.ReadLines(File("judgments.jsonl")).Select(l => JsonNode.Parse(l)!["score"]!.GetValue<double>()).ToList();
        Assert.Equal(6, judged.Count);
        Assert.All(judged, s => Assert.InRange(s, 0, 1));
        Ok("pair", "--candidates", File("candidates.jsonl"), "--judgments", File("judgments.jsonl"), "--out", File("pairs.jsonl"));
        Assert.NotEmpty(System.IO.File.ReadAllLines(File("pairs.jsonl")));
        Ok("train", "--model", model, "--data", File("pairs.jsonl"), "--out", File("run"), "--max-steps", "1", "--batch-size", "1");

        // The adapter names the family's own projections, as PEFT does; the merged folder keeps the family's tensor names.
        var adapter = JsonNode.Parse(System.IO.File.ReadAllText(Path.Combine(File("run"), "adapter", "adapter_config.json")))!;
        Assert.Equal(projections, adapter["target_modules"]!.AsArray().Select(n => (string)n!));
        string merged = Path.Combine(File("run"), "model");
        var config = ModelConfig.Load(Path.Combine(merged, "config.json"));
        using (var checkpoint = Checkpoint.Open(merged))
            Assert.Equal(WeightNames.Expected(config).Select(w => w.Name).Order(), checkpoint.Tensors.Keys.Order());

        string rm = Path.Combine(TestModels.Fixtures, "bench", "rmbench-format.json");
        Ok("bench", "--model", model, "--data", rm, "--out", File("bench"), "--threads", "1");
        Assert.True(System.IO.File.Exists(Path.Combine(File("bench"), "results.json")));
    }
}
