using System.Text;
using System.Text.Json;
using SelfAlign.Modeling;
using SelfAlign.Modeling.Lora;
using SelfAlign.Tests.Pipeline;
using Xunit;

namespace SelfAlign.Tests.Cli;

/// <summary>generate end to end on a random-weight model with the real SmolLM2 tokenizer: output, resume, bad input.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class GenerateCommandTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("selfalign-gen-").FullName;
    readonly string _model;
    readonly string _prompts;

    public GenerateCommandTests()
    {
        _model = Path.Combine(_dir, "model");
        var init = CliRunner.Run("init-model", "--config", Path.Combine(TestModels.Configs, "smollm2-135m", "config.json"),
            "--seed", "1", "--out", _model, "--layers", "2");
        Assert.True(init.Code == 0, init.Err);
        _prompts = Path.Combine(_dir, "prompts.jsonl");
        File.WriteAllText(_prompts, string.Join("\n",
            "{\"id\": \"a\", \"prompt\": \"What is 2 + 2?\"}",
            "{\"id\": 7, \"messages\": [{\"role\": \"system\", \"content\": \"Be brief.\"}, {\"role\": \"user\", \"content\": \"Name a color.\"}]}",
            "{\"prompt\": [{\"role\": \"user\", \"content\": \"Say hi.\"}]}") + "\n");
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string[] Args(string output, params string[] extra) =>
        ["generate", "--model", _model, "--prompts", _prompts, "-n", "3", "--temperature", "0.8", "--top-k", "40",
         "--max-new-tokens", "40", "--seed", "5", "--out", output, "--threads", "1", .. extra];

    static List<JsonElement> Rows(string file) => File.ReadAllLines(file).Select(l => JsonDocument.Parse(l).RootElement).ToList();

    static HashSet<(string, int)> Keys(List<JsonElement> rows) =>
        rows.Select(r => (r.GetProperty("prompt_id").GetString()!, r.GetProperty("sample").GetInt32())).ToHashSet();

    [Fact]
    public void Writes_one_row_per_candidate_and_a_manifest()
    {
        string output = Path.Combine(_dir, "cand.jsonl");
        var run = CliRunner.Run(Args(output));
        Assert.True(run.Code == 0, run.Err);
        var rows = Rows(output);
        Assert.Equal(9, rows.Count);
        Assert.Equal(9, Keys(rows).Count);
        Assert.Equal(["7", "a", "line-3"], rows.Select(r => r.GetProperty("prompt_id").GetString()).Distinct().Order());
        foreach (var r in rows)
        {
            Assert.InRange(r.GetProperty("num_tokens").GetInt32(), 0, 40);
            Assert.Contains(r.GetProperty("finish_reason").GetString(), new[] { "stop", "length" });
            Assert.True(r.GetProperty("sum_logprob").GetDouble() <= 0);
        }
        var manifest = JsonDocument.Parse(File.ReadAllText(output + ".manifest.json")).RootElement;
        Assert.Equal(0.8, manifest.GetProperty("config").GetProperty("sampling").GetProperty("temperature").GetDouble());
        Assert.True(manifest.GetProperty("versions").TryGetProperty("torchsharp", out _));

        // Same seed, same rows whatever the batch size (in float32; bf16 rounding depends on the batch shape).
        string f32 = Path.Combine(_dir, "f32.jsonl"), again = Path.Combine(_dir, "again.jsonl");
        Assert.Equal(0, CliRunner.Run(Args(f32, "--dtype", "f32")).Code);
        Assert.Equal(0, CliRunner.Run(Args(again, "--dtype", "f32", "--batch-size", "4")).Code);
        Assert.Equal(Rows(f32).Select(r => r.GetProperty("text").GetString()).Order(), Rows(again).Select(r => r.GetProperty("text").GetString()).Order());
        Assert.Contains("complete", CliRunner.Run(Args(output)).Out);
        var changed = CliRunner.Run(Args(output, "--top-p", "0.5"));
        Assert.Equal(2, changed.Code);
        Assert.Contains("sampling", changed.Err);
    }

    [Fact]
    public void An_adapter_samples_like_the_model_it_merges_into()
    {
        string adapterDir = Path.Combine(_dir, "adapter"), merged = Path.Combine(_dir, "merged");
        using (var model = ModelFolder.Load(_model, new LoadOptions(TorchSharp.torch.ScalarType.Float32)))
        using (var adapter = LoraAdapter.Create(model.Config, new LoraConfig(Rank: 4, Alpha: 8), seed: 3))
        {
            using (TorchSharp.torch.no_grad())
                foreach (var (_, b) in adapter.Modules.Select(m => adapter[m])) b.normal_(0, 0.2, new TorchSharp.torch.Generator(9));
            PeftAdapter.Save(adapter, adapterDir, _model);
            adapter.MergeInto(model);
            ModelFolder.Save(model, merged, _model);
        }
        string withAdapter = Path.Combine(_dir, "with-adapter.jsonl"), fromMerged = Path.Combine(_dir, "from-merged.jsonl"), plain = Path.Combine(_dir, "plain.jsonl");
        Assert.Equal(0, CliRunner.Run(Args(withAdapter, "--adapter", adapterDir, "--dtype", "f32")).Code);
        Assert.Equal(0, CliRunner.Run([.. Args(fromMerged, "--dtype", "f32").Select(a => a == _model ? merged : a)]).Code);
        Assert.Equal(0, CliRunner.Run(Args(plain, "--dtype", "f32")).Code);
        string Texts(string file) => string.Join("\n", Rows(file).Select(r => r.GetProperty("text").GetString()));
        Assert.Equal(Texts(fromMerged), Texts(withAdapter));
        Assert.NotEqual(Texts(plain), Texts(withAdapter));
        var recorded = JsonDocument.Parse(File.ReadAllText(withAdapter + ".manifest.json")).RootElement.GetProperty("config").GetProperty("adapter");
        Assert.Equal(adapterDir, recorded.GetProperty("folder").GetString());
        Assert.Equal(64, recorded.GetProperty("weights_sha256").GetString()!.Length);
    }

    [Fact]
    public void Resumes_after_kill_minus_9_without_duplicates_or_gaps()
    {
        string output = Path.Combine(_dir, "killed.jsonl");
        // A real process, killed with SIGKILL as soon as it has written some rows.
        using (var process = KillEachStage.Start([.. Args(output, "--batch-size", "1")], new StringBuilder()))
        {
            var deadline = DateTime.UtcNow.AddMinutes(2);
            while (!process.HasExited && DateTime.UtcNow < deadline && (!File.Exists(output) || File.ReadAllLines(output).Length < 2))
                Thread.Sleep(50);
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }
        int before = File.ReadAllLines(output).Length;
        // A torn last line, as a kill in the middle of a write would leave.
        File.AppendAllText(output, "{\"prompt_id\": \"a\", \"sam");

        var resumed = CliRunner.Run(Args(output));
        Assert.True(resumed.Code == 0, resumed.Err);
        var rows = Rows(output);
        Assert.Equal(9, rows.Count);
        Assert.Equal(9, Keys(rows).Count);
        Assert.True(before < 9, "the run was killed before it finished");
    }

    [Theory]
    [InlineData("{\"id\": \"a\", \"prompt\": \"ok\"}\n{\"id\": \"b\" \"prompt\": \"x\"}\n", 2, "invalid JSON")]
    [InlineData("{\"id\": \"a\", \"prompt\": \"ok\"}\n\n{\"id\": \"b\"}\n", 3, "missing 'prompt'")]
    [InlineData("{\"id\": \"a\", \"prompt\": \"ok\"}\n{\"id\": \"a\", \"prompt\": \"again\"}\n", 2, "duplicate id 'a' (first on line 1)")]
    [InlineData("{\"messages\": [{\"role\": \"user\"}]}\n", 1, "'messages[0]' needs a string 'content'")]
    public void Rejects_malformed_prompts_with_file_and_line(string content, int line, string reason)
    {
        File.WriteAllText(_prompts, content);
        var run = CliRunner.Run(Args(Path.Combine(_dir, "bad.jsonl")));
        Assert.Equal(2, run.Code);
        Assert.Contains($"{_prompts}:{line}: {reason}", run.Err);
        Assert.False(File.Exists(Path.Combine(_dir, "bad.jsonl")));
    }
}
