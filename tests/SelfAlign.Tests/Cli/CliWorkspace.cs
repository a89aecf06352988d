using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Xunit;

namespace SelfAlign.Tests.Cli;

/// <summary>
/// A folder with a very small random model (SmolLM2's tokenizer, one narrow layer) and one valid
/// input file of every kind the command line reads, for tests that feed the commands bad input.
/// </summary>
public sealed class CliWorkspace : IDisposable
{
    public string Root { get; } = Directory.CreateTempSubdirectory("selfalign-inputs-").FullName;
    public string Model => Path.Combine(Root, "model");
    public string Prompts => Path.Combine(Root, "prompts.jsonl");
    public string Candidates => Path.Combine(Root, "candidates.jsonl");
    public string Judgments => Path.Combine(Root, "judgments.jsonl");
    public string Pairs => Path.Combine(Root, "pairs.jsonl");
    public string Sft => Path.Combine(Root, "sft.jsonl");
    public string Bench => Path.Combine(Root, "bench.jsonl");
    public string Pool => Path.Combine(AppContext.BaseDirectory, "data", "prompts", "ipo_candidate_prompts.json");
    public string ModelConfig => Path.Combine(Root, "arch", "config.json");

    public CliWorkspace()
    {
        // SmolLM2's architecture made tiny: the vocabulary stays (the real tokenizer), the rest shrinks.
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(TestModels.Configs, "smollm2-135m", "config.json")))!.AsObject();
        config["hidden_size"] = 64;
        config["intermediate_size"] = 96;
        config["num_attention_heads"] = 4;
        config["num_key_value_heads"] = 2;
        config["num_hidden_layers"] = 1;
        Directory.CreateDirectory(Path.GetDirectoryName(ModelConfig)!);
        File.WriteAllText(ModelConfig, config.ToJsonString());
        File.Copy(Path.Combine(TestModels.Configs, "smollm2-135m", "tokenizer.json"), Path.Combine(Root, "arch", "tokenizer.json"));
        var init = CliRunner.Run("init-model", "--config", ModelConfig, "--out", Model);
        Assert.True(init.Code == 0, init.Err);

        File.WriteAllText(Prompts, "{\"id\": \"a\", \"prompt\": \"What is 2 + 2?\"}\n{\"id\": \"b\", \"prompt\": \"Name a color.\"}\n");
        File.WriteAllText(Candidates, string.Concat(
            from id in new[] { "a", "b" }
            from s in new[] { 0, 1 }
            select $"{{\"prompt_id\": \"{id}\", \"sample\": {s}, \"prompt\": \"question {id}\", \"text\": \"answer {id}{s}\"}}\n"));
        File.WriteAllText(Judgments, string.Concat(
            from id in new[] { "a", "b" }
            from s in new[] { 0, 1 }
            select $"{{\"prompt_id\": \"{id}\", \"sample\": {s}, \"judge\": \"yesno\", \"score\": {0.2 + 0.5 * s}}}\n"));
        File.WriteAllText(Pairs, "{\"id\": \"a\", \"prompt\": \"What is 2 + 2?\", \"chosen\": \"4\", \"rejected\": \"5\"}\n");
        File.WriteAllText(Sft, "{\"id\": \"a\", \"prompt\": \"What is 2 + 2?\", \"completion\": \"4\"}\n");
        File.Copy(Path.Combine(AppContext.BaseDirectory, "data", "prefbench", "llmbar-natural.jsonl"), Bench);
    }

    /// <summary>A fresh folder for one test case's files.</summary>
    public string Case(string name)
    {
        string dir = Path.Combine(Root, "case-" + name);
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>The SHA-256 of every file below <paramref name="folder"/>, by relative path.</summary>
    public static Dictionary<string, string> Snapshot(string folder) => Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
        .ToDictionary(f => Path.GetRelativePath(folder, f), f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))));

    public void Dispose() => Directory.Delete(Root, recursive: true);
}
