using System.Text.Json;
using Xunit;

namespace SelfAlign.Tests.Cli;

/// <summary>tokenize and template through the command line, on tokenizer-only folders.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class TextCommandsTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("selfalign-text-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Tokenize_prints_ids_and_encodes_jsonl_files()
    {
        string qwen = TestModels.TokenizerFolder("qwen3");
        var one = CliRunner.Run("tokenize", "--model", qwen, "Yes");
        Assert.True(one.Code == 0, one.Err);
        Assert.Equal("[9454]", one.Out.Trim());

        string input = Path.Combine(_dir, "in.jsonl"), output = Path.Combine(_dir, "out.jsonl");
        File.WriteAllText(input, "{\"text\": \" Yes\"}\n\n{\"text\": \"<|im_end|>\"}\n");
        var file = CliRunner.Run("tokenize", "--model", qwen, "--jsonl", input, "--out", output);
        Assert.True(file.Code == 0, file.Err);
        var rows = File.ReadAllLines(output).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal([" Yes", "<|im_end|>"], rows.Select(r => r.GetProperty("text").GetString()));
        Assert.Equal([7414], rows[0].GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal([151645], rows[1].GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()));

        var split = CliRunner.Run("tokenize", "--model", qwen, "--split-special-tokens", "<|im_end|>");
        Assert.DoesNotContain("151645", split.Out);

        File.WriteAllText(input, "{\"text\": \"ok\"}\n{\"txt\": \"typo\"}\n");
        var bad = CliRunner.Run("tokenize", "--model", qwen, "--jsonl", input);
        Assert.Equal(2, bad.Code);
        Assert.Contains($"{input}:2: missing 'text'", bad.Err);
    }

    [Fact]
    public void Template_renders_the_models_template()
    {
        string messages = Path.Combine(_dir, "m.json");
        File.WriteAllText(messages, "[{\"role\": \"user\", \"content\": \"Hi\"}]");
        var qwen = CliRunner.Run("template", "--model", TestModels.TokenizerFolder("qwen3"), "--messages", messages,
            "--generation-prompt", "--template-arg", "enable_thinking=false");
        Assert.True(qwen.Code == 0, qwen.Err);
        Assert.Equal("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n", qwen.Out);

        var smol = CliRunner.Run("template", "--model", TestModels.TokenizerFolder("smollm2"), "--messages", messages);
        Assert.Equal("<|im_start|>user\nHi<|im_end|>\n", smol.Out);
        Assert.Contains("ChatML", smol.Err);
    }
}
