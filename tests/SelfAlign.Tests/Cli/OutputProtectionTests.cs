using Xunit;

namespace SelfAlign.Tests.Cli;

/// <summary>
/// Every verb that writes refuses an output that holds something it did not write, and an output
/// that is one of its own inputs, before writing anything; <c>--overwrite</c> is the way to replace.
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class OutputProtectionTests(CliWorkspace w) : IClassFixture<CliWorkspace>
{
    /// <summary>Each verb's command line with its output left to the test (the last argument is --out's value, or --runs' for iterate).</summary>
    static string[] Verb(CliWorkspace w, string verb, string dir) => verb switch
    {
        "init-model" => ["init-model", "--config", w.ModelConfig, "--out"],
        "tokenize" => ["tokenize", "--model", w.Model, "--jsonl", Text(dir), "--out"],
        "generate" => ["generate", "--model", w.Model, "--prompts", w.Prompts, "--max-new-tokens", "2", "--out"],
        "judge" => ["judge", "--model", w.Model, "--candidates", w.Candidates, "--out"],
        "pair" => ["pair", "--candidates", w.Candidates, "--judgments", w.Judgments, "--out"],
        "sft" => ["sft", "--model", w.Model, "--data", w.Sft, "--out"],
        "train" => ["train", "--model", w.Model, "--data", w.Pairs, "--out"],
        "bench" => ["bench", "--model", w.Model, "--data", w.Bench, "--limit-per-subset", "1", "--out"],
        "categorize" => ["categorize", "--model", w.Model, "--data", w.Bench, "--limit-per-subset", "1", "--out"],
        "select-prompts" => ["select-prompts", "--model", w.Model, "--candidates", w.Pool, "--data", w.Bench, "--per-category", "1", "--out"],
        "demo" => ["demo", "--quick", "--cache", Path.Combine(dir, "cache"), "--out"],
        _ => ["iterate", "--config", Loop(w, dir, "model"), "--runs"],
    };

    static readonly string[] FileVerbs = ["tokenize", "generate", "judge", "pair"];

    public static TheoryData<string> Verbs => ["init-model", "tokenize", "generate", "judge", "pair", "sft", "train", "bench", "categorize", "select-prompts", "iterate", "demo"];

    static string Text(string dir)
    {
        string file = Path.Combine(dir, "text.jsonl");
        if (!File.Exists(file)) File.WriteAllText(file, "{\"text\": \"hello\"}\n");
        return file;
    }

    static string Loop(CliWorkspace w, string dir, string name)
    {
        string file = Path.Combine(dir, "loop.json");
        File.WriteAllText(file, $$"""
            { "name": "{{name}}", "seed_model": "{{w.Model}}", "prompts": "{{w.Prompts}}", "iterations": 1, "generate": { "samples": 2, "max_new_tokens": 2 } }
            """);
        return file;
    }

    static void Refused(CliWorkspace w, string[] args, params string[] mentions)
    {
        var before = CliWorkspace.Snapshot(w.Root);
        var run = CliRunner.Run([.. args, "--threads", "1"]);
        Assert.True(run.Code == 2, $"exit {run.Code}: {run.Err}");
        Assert.StartsWith("error: ", run.Err);
        foreach (string m in mentions) Assert.Contains(m, run.Err);
        Assert.Equal(before, CliWorkspace.Snapshot(w.Root));
    }

    [Theory]
    [MemberData(nameof(Verbs))]
    public void A_foreign_output_is_left_alone(string verb)
    {
        string dir = w.Case("foreign-" + verb);
        var args = Verb(w, verb, dir);
        string output;
        if (FileVerbs.Contains(verb))
        {
            output = Path.Combine(dir, "notes.txt");
            File.WriteAllText(output, "my notes\n");
        }
        else
        {
            output = Path.Combine(dir, "mine");
            Directory.CreateDirectory(verb == "iterate" ? Path.Combine(output, "model") : output);
            File.WriteAllText(Path.Combine(verb == "iterate" ? Path.Combine(output, "model") : output, "notes.txt"), "my notes\n");
        }
        Refused(w, [.. args, output], "was not written by", "--overwrite");
    }

    [Theory]
    [MemberData(nameof(Verbs))]
    public void An_input_is_never_the_output(string verb)
    {
        string dir = w.Case("input-" + verb);
        var args = Verb(w, verb, dir);
        string output = verb switch
        {
            "init-model" => Path.GetDirectoryName(w.ModelConfig)!,
            "tokenize" => Text(dir),
            "generate" => w.Prompts,
            "judge" => w.Candidates,
            "pair" => w.Judgments,
            // The run folder <runs>/model is the seed model's own folder.
            "iterate" => w.Root,
            // The seed-model cache is the demo's input.
            "demo" => Path.Combine(dir, "cache"),
            _ => w.Model,
        };
        Refused(w, [.. args, output], output, "this command reads");
    }

    [Fact]
    public void Overwrite_replaces_a_foreign_output()
    {
        string dir = w.Case("overwrite");
        string output = Path.Combine(dir, "notes.txt");
        File.WriteAllText(output, "my notes\n");
        var run = CliRunner.Run([.. Verb(w, "pair", dir), output, "--overwrite"]);
        Assert.True(run.Code == 0, run.Err);
        Assert.Contains("\"chosen\"", File.ReadAllText(output));
        Assert.True(File.Exists(output + ".manifest.json"));
        // Its own output, the pair command replaces without being asked.
        Assert.Equal(0, CliRunner.Run([.. Verb(w, "pair", dir), output, "--min-margin", "0.1"]).Code);
    }

    [Fact]
    public void A_rerun_removes_the_temporary_files_an_interrupted_write_left()
    {
        // Temporaries are named <target>.<pid>.tmp; this pid is beyond Linux's range, so no process holds it.
        const string Dead = "2147483000";
        string dir = w.Case("temps");
        string pairs = Path.Combine(dir, "pairs.jsonl"), run = Path.Combine(dir, "sft");
        Assert.Equal(0, CliRunner.Run([.. Verb(w, "pair", dir), pairs]).Code);
        Assert.Equal(0, CliRunner.Run([.. Verb(w, "sft", dir), run, "--threads", "1"]).Code);
        string[] stale = [$"{pairs}.{Dead}.tmp", $"{pairs}.manifest.json.{Dead}.tmp", Path.Combine(run, "model", $"model.safetensors.{Dead}.tmp")];
        string unrelated = Path.Combine(dir, $"notes.txt.{Dead}.tmp");
        foreach (string f in stale.Append(unrelated)) File.WriteAllText(f, "half");

        Assert.Equal(0, CliRunner.Run([.. Verb(w, "pair", dir), pairs]).Code);
        Assert.Equal(0, CliRunner.Run([.. Verb(w, "sft", dir), run, "--threads", "1"]).Code);
        Assert.All(stale, f => Assert.False(File.Exists(f), f));
        Assert.True(File.Exists(unrelated));
    }
}
