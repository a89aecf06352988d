using System.Text;
using SelfAlign.Modeling.Safetensors;
using Xunit;

namespace SelfAlign.Tests.Cli;

/// <summary>
/// A corpus of malformed inputs, one per class of mistake users make. Each must end with the
/// exit code of bad input (or of a bad command line), one line naming the file, line and field
/// (or the option or config key), no stack trace and no .NET wording, and every file that was
/// there before byte for byte as it was, with nothing new written.
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class MalformedInputTests(CliWorkspace w) : IClassFixture<CliWorkspace>
{
    /// <summary>A case: it writes its bad files, then returns the command line, the exit code and what the message must mention.</summary>
    sealed record Case(Func<CliWorkspace, string, (string[] Args, int Code, string[] Mentions)> Setup);

    static readonly Dictionary<string, Case> Cases = new()
    {
        ["judge: 'sample' is a string"] = new((w, dir) =>
        {
            string bad = Path.Combine(dir, "candidates.jsonl");
            File.WriteAllText(bad, File.ReadAllText(w.Candidates).Replace("\"sample\": 1", "\"sample\": \"1\""));
            return (["judge", "--model", w.Model, "--candidates", bad, "--out", Path.Combine(dir, "j.jsonl")], 2, [$"{bad}:2:", "'sample' must be an integer"]);
        }),
        ["judge: a candidate longer than the model's positions"] = new((w, dir) =>
        {
            string bad = Path.Combine(dir, "candidates.jsonl");
            var lines = File.ReadAllLines(w.Candidates);
            lines[1] = lines[1].Replace("\"text\": \"", "\"text\": \"" + string.Concat(Enumerable.Repeat("word ", 9000)));
            File.WriteAllLines(bad, lines);
            return (["judge", "--model", w.Model, "--candidates", bad, "--out", Path.Combine(dir, "j.jsonl")], 2, [$"{bad}:2:", "positions"]);
        }),
        ["pair: a judgment without 'score'"] = new((w, dir) =>
        {
            string bad = Path.Combine(dir, "judgments.jsonl");
            var lines = File.ReadAllLines(w.Judgments);
            lines[2] = lines[2].Replace("\"score\"", "\"scor\"");
            File.WriteAllLines(bad, lines);
            return (["pair", "--candidates", w.Candidates, "--judgments", bad, "--out", Path.Combine(dir, "pairs.jsonl")], 2, [$"{bad}:3:", "missing 'score'"]);
        }),
        ["pair: a judgment for an unknown prompt"] = new((w, dir) =>
        {
            string bad = Path.Combine(dir, "judgments.jsonl");
            File.WriteAllText(bad, File.ReadAllText(w.Judgments).Replace("\"prompt_id\": \"b\"", "\"prompt_id\": \"zz\""));
            return (["pair", "--candidates", w.Candidates, "--judgments", bad, "--out", Path.Combine(dir, "pairs.jsonl")], 2, [$"{bad}:3:", "'zz'"]);
        }),
        ["generate: prompts that are not UTF-8"] = new((w, dir) =>
        {
            string bad = Path.Combine(dir, "prompts.jsonl");
            File.WriteAllBytes(bad, [.. Encoding.UTF8.GetBytes("{\"id\": \"a\", \"prompt\": \"ok\"}\n{\"id\": \"b\", \"prompt\": \"caf"), 0xE9, .. "\"}\n"u8.ToArray()]);
            return (["generate", "--model", w.Model, "--prompts", bad, "--out", Path.Combine(dir, "c.jsonl")], 2, [$"{bad}:2:", "not UTF-8", "0xE9"]);
        }),
        ["generate: a prompt longer than the model's positions"] = new((w, dir) =>
        {
            string bad = Path.Combine(dir, "prompts.jsonl");
            File.WriteAllText(bad, "{\"id\": \"a\", \"prompt\": \"hi\"}\n{\"id\": \"long\", \"prompt\": \"" + string.Concat(Enumerable.Repeat("word ", 9000)) + "\"}\n");
            return (["generate", "--model", w.Model, "--prompts", bad, "--out", Path.Combine(dir, "c.jsonl")], 2, [$"{bad}:2:", "positions", "truncate"]);
        }),
        ["generate: JSON syntax error"] = new((w, dir) =>
        {
            string bad = Path.Combine(dir, "prompts.jsonl");
            File.WriteAllText(bad, "{\"id\": \"a\", \"prompt\": \"ok\"}\n{\"id\": \"b\" \"prompt\": \"x\"}\n");
            return (["generate", "--model", w.Model, "--prompts", bad, "--out", Path.Combine(dir, "c.jsonl")], 2, [$"{bad}:2:", "invalid JSON at column"]);
        }),
        ["generate: --batch-size 0"] = new((w, dir) =>
            (["generate", "--model", w.Model, "--prompts", w.Prompts, "--out", Path.Combine(dir, "c.jsonl"), "--batch-size", "0"], 2, ["--batch-size", "at least 1"])),
        ["generate: --threads 0"] = new((w, dir) =>
            (["generate", "--model", w.Model, "--prompts", w.Prompts, "--out", Path.Combine(dir, "c.jsonl"), "--threads", "0"], 2, ["--threads", "at least 1"])),
        ["generate: --top-p 0"] = new((w, dir) =>
            (["generate", "--model", w.Model, "--prompts", w.Prompts, "--out", Path.Combine(dir, "c.jsonl"), "--top-p", "0"], 2, ["--top-p", "(0, 1]"])),
        ["generate: an unknown --dtype"] = new((w, dir) =>
            (["generate", "--model", w.Model, "--prompts", w.Prompts, "--out", Path.Combine(dir, "c.jsonl"), "--dtype", "int8"], 2, ["--dtype 'int8'", "auto, bf16, f32 or f16"])),
        ["init-model: --dtype auto for stored weights"] = new((w, dir) =>
            (["init-model", "--config", Path.Combine(w.Model, "config.json"), "--out", Path.Combine(dir, "m"), "--dtype", "auto"], 2, ["--dtype", "bf16, f32 or f16"])),
        ["generate: a number that is not a number"] = new((w, dir) =>
            (["generate", "--model", w.Model, "--prompts", w.Prompts, "--out", Path.Combine(dir, "c.jsonl"), "--batch-size", "abc"], 1, ["--batch-size", "'abc' is not a whole number"])),
        ["generate: the output's folder is a file"] = new((w, dir) =>
            (["generate", "--model", w.Model, "--prompts", w.Prompts, "--out", Path.Combine(w.Prompts, "c.jsonl")], 2, [w.Prompts])),
        ["generate: a damaged row in the middle of its own output"] = new((w, dir) =>
        {
            string output = Path.Combine(dir, "c.jsonl");
            var first = CliRunner.Run("generate", "--model", w.Model, "--prompts", w.Prompts, "--out", output, "-n", "2", "--max-new-tokens", "3");
            Assert.True(first.Code == 0, first.Err);
            var lines = File.ReadAllLines(output);
            lines[1] = lines[1][..10];
            File.WriteAllText(output, string.Join("\n", lines) + "\n");
            return (["generate", "--model", w.Model, "--prompts", w.Prompts, "--out", output, "-n", "2", "--max-new-tokens", "3"], 2,
                [$"{output}:2:", "damaged row", "delete this line"]);
        }),
        ["judge: a damaged manifest"] = new((w, dir) =>
        {
            string output = Path.Combine(dir, "j.jsonl");
            var first = CliRunner.Run("judge", "--model", w.Model, "--candidates", w.Candidates, "--out", output);
            Assert.True(first.Code == 0, first.Err);
            File.WriteAllText(output + ".manifest.json", "{\"command\": \"judge\", \"config\": {");
            return (["judge", "--model", w.Model, "--candidates", w.Candidates, "--out", output], 2, [$"{output}.manifest.json:1:", "damaged manifest", "--overwrite"]);
        }),
        ["info and generate: weights in a dtype the engine cannot compute"] = new((w, dir) =>
        {
            string model = Path.Combine(dir, "model");
            Directory.CreateDirectory(model);
            foreach (var f in Directory.GetFiles(w.Model).Where(f => !f.EndsWith(".safetensors"))) File.Copy(f, Path.Combine(model, Path.GetFileName(f)));
            using (var source = SafetensorsFile.Open(Path.Combine(w.Model, Checkpoint.SingleFile)))
            {
                var tensors = source.Tensors.Keys.Select(k => KeyValuePair.Create(k, k == "model.norm.weight"
                    ? source.Read(k).to(TorchSharp.torch.ScalarType.Int16) : source.Read(k))).ToList();
                SafetensorsWriter.Write(Path.Combine(model, Checkpoint.SingleFile), tensors);
                foreach (var t in tensors) t.Value.Dispose();
            }
            return (["generate", "--model", model, "--prompts", w.Prompts, "--out", Path.Combine(dir, "c.jsonl")], 2, ["model.norm.weight", "I16"]);
        }),
        ["train: an empty 'chosen'"] = new((w, dir) =>
        {
            string bad = Path.Combine(dir, "pairs.jsonl");
            File.WriteAllText(bad, File.ReadAllText(w.Pairs) + "{\"id\": \"b\", \"prompt\": \"Hi\", \"chosen\": \"\", \"rejected\": \"no\"}\n");
            return (["train", "--model", w.Model, "--data", bad, "--out", Path.Combine(dir, "run")], 2, [$"{bad}:2:", "'chosen' is empty"]);
        }),
        ["sft: an empty completion"] = new((w, dir) =>
        {
            string bad = Path.Combine(dir, "sft.jsonl");
            File.WriteAllText(bad, "{\"prompt\": \"Hi\", \"completion\": \"  \"}\n");
            return (["sft", "--model", w.Model, "--data", bad, "--out", Path.Combine(dir, "run")], 2, [$"{bad}:1:", "'completion' is empty"]);
        }),
        ["train: --lora-r 0"] = new((w, dir) =>
            (["train", "--model", w.Model, "--data", w.Pairs, "--out", Path.Combine(dir, "run"), "--lora-r", "0"], 2, ["--lora-r", "at least 1"])),
        ["bench: a record without 'chosen'"] = new((w, dir) =>
        {
            string bad = Path.Combine(dir, "bench.jsonl");
            File.WriteAllText(bad, "{\"prompt\": \"q\", \"rejected\": \"r\", \"subset\": \"s\"}\n");
            return (["bench", "--model", w.Model, "--data", bad, "--out", Path.Combine(dir, "run")], 2, [$"{bad}:1:", "'chosen'"]);
        }),
        ["iterate: a value out of range"] = new((w, dir) =>
        {
            string config = Path.Combine(dir, "loop.json");
            File.WriteAllText(config, IterateConfigText(w, "\"train\": {\n    \"learning_rate\": -1\n  }"));
            return (["iterate", "--config", config, "--runs", Path.Combine(dir, "runs")], 2, [$"{config}:8:", "'train.learning_rate'", "positive"]);
        }),
        ["pair: score filters on pairwise judgments"] = new((w, dir) =>
        {
            string bad = Path.Combine(dir, "judgments.jsonl");
            File.WriteAllText(bad, "{\"prompt_id\": \"a\", \"first\": 0, \"second\": 1, \"judge\": \"pairwise\", \"preference\": 0.8}\n");
            return (["pair", "--candidates", w.Candidates, "--judgments", bad, "--out", Path.Combine(dir, "pairs.jsonl"), "--min-chosen-score", "0.5"], 2,
                ["--min-chosen-score", "pointwise"]);
        }),
        ["iterate: score filters with the pairwise judge"] = new((w, dir) =>
        {
            string config = Path.Combine(dir, "loop.json");
            File.WriteAllText(config, IterateConfigText(w, "\"judge\": { \"kind\": \"pairwise\" },\n  \"pair\": {\n    \"min_chosen_score\": 0.5\n  }"));
            return (["iterate", "--config", config, "--runs", Path.Combine(dir, "runs")], 2, [$"{config}:9:", "'pair.min_chosen_score'", "pointwise"]);
        }),
        ["iterate: the verifier judge without a task file"] = new((w, dir) =>
        {
            string config = Path.Combine(dir, "loop.json");
            File.WriteAllText(config, IterateConfigText(w, "\"judge\": {\n    \"kind\": \"verifier\"\n  }"));
            return (["iterate", "--config", config, "--runs", Path.Combine(dir, "runs")], 2, [$"{config}:7:", "'judge.tasks'", "verifier"]);
        }),
        ["iterate: a policy test set with a bad check"] = new((w, dir) =>
        {
            string tasks = Path.Combine(dir, "tasks.jsonl");
            File.WriteAllText(tasks, "{\"id\": \"a\", \"prompt\": \"What is 2 + 2?\", \"check\": {\"kind\": \"number\", \"answer\": \"four\"}}\n");
            string config = Path.Combine(dir, "loop.json");
            File.WriteAllText(config, IterateConfigText(w, "\"eval\": { \"policy\": { \"tasks\": \"tasks.jsonl\" } }"));
            return (["iterate", "--config", config, "--runs", Path.Combine(dir, "runs")], 2, [$"{tasks}:1:", "'check.answer' must be a number"]);
        }),
        ["iterate: an unknown BBH task"] = new((w, dir) =>
        {
            string config = Path.Combine(dir, "loop.json");
            File.WriteAllText(config, IterateConfigText(w, "\"eval\": { \"bbh\": { \"tasks\": [\"navigate\", \"chess\"] } }"));
            return (["iterate", "--config", config, "--runs", Path.Combine(dir, "runs")], 2, [$"{config}:7:", "'eval.bbh.tasks'", "'chess' is not a BBH task"]);
        }),
        ["iterate: an IFEval limit below zero"] = new((w, dir) =>
        {
            string config = Path.Combine(dir, "loop.json");
            File.WriteAllText(config, IterateConfigText(w, "\"eval\": { \"ifeval\": { \"limit\": -2 } }"));
            return (["iterate", "--config", config, "--runs", Path.Combine(dir, "runs")], 2, [$"{config}:7:", "'eval.ifeval.limit'", "must be >= 0"]);
        }),
        ["eval ifeval: an instruction without its kwarg"] = new((w, dir) =>
        {
            string data = Path.Combine(dir, "ifeval.jsonl");
            File.WriteAllText(data, "{\"key\": 1, \"prompt\": \"p\", \"instruction_id_list\": [\"length_constraints:number_words\"], \"kwargs\": [{\"num_words\": 5}]}\n");
            return (["eval", "ifeval", "--model", w.Model, "--data", data, "--out", Path.Combine(dir, "run")], 2, [$"{data}:1:", "'relation' is missing"]);
        }),
        ["iterate: servers that cannot load adapters"] = new((w, dir) =>
        {
            string config = Path.Combine(dir, "loop.json");
            File.WriteAllText(config, IterateConfigText(w, "\"engine\": {\n    \"endpoints\": [\"http://127.0.0.1:9\"], \"kind\": \"ollama\"\n  }"));
            return (["iterate", "--config", config, "--runs", Path.Combine(dir, "runs")], 2, [$"{config}:8:", "'engine.kind'", "vllm or sglang"]);
        }),
        ["generate: an engine URL that is not http"] = new((w, dir) =>
            (["generate", "--model", w.Model, "--prompts", w.Prompts, "--engine", "ftp://host", "--out", Path.Combine(dir, "c.jsonl")], 2, ["--engine 'ftp://host'", "http(s) URL"])),
        ["eval ifeval: given responses with servers"] = new((w, dir) =>
        {
            string responses = Path.Combine(dir, "responses.jsonl");
            File.WriteAllText(responses, "{\"prompt\": \"p\", \"response\": \"r\"}\n");
            return (["eval", "ifeval", "--responses", responses, "--engine", "http://127.0.0.1:9", "--out", Path.Combine(dir, "run")], 2, ["engine", "no model runs"]);
        }),
        ["iterate: a value of the wrong type"] = new((w, dir) =>
        {
            string config = Path.Combine(dir, "loop.json");
            File.WriteAllText(config, IterateConfigText(w, "\"train\": {\n    \"epochs\": \"two\"\n  }"));
            return (["iterate", "--config", config, "--runs", Path.Combine(dir, "runs")], 2, [$"{config}:8:", "'train.epochs' must be a whole number"]);
        }),
        ["iterate: an unknown key"] = new((w, dir) =>
        {
            string config = Path.Combine(dir, "loop.json");
            File.WriteAllText(config, IterateConfigText(w, "\"train\": {\n    \"learnin_rate\": 0.1\n  }"));
            return (["iterate", "--config", config, "--runs", Path.Combine(dir, "runs")], 2, [$"{config}:8:", "unknown key 'learnin_rate'", "learning_rate"]);
        }),
        ["iterate: a prompt pool that does not exist"] = new((w, dir) =>
        {
            string config = Path.Combine(dir, "loop.json");
            File.WriteAllText(config, IterateConfigText(w, "\"pair\": {}").Replace(w.Prompts.Replace("\\", "\\\\"), "missing.jsonl"));
            return (["iterate", "--config", config, "--runs", Path.Combine(dir, "runs")], 2, [$"{config}:4:", "'prompts'", "missing.jsonl"]);
        }),
        ["iterate: eval data that does not parse"] = new((w, dir) =>
        {
            string config = Path.Combine(dir, "loop.json"), bench = Path.Combine(dir, "bench.jsonl");
            File.WriteAllText(bench, "{\"prompt\": \"q\"}\n");
            File.WriteAllText(config, IterateConfigText(w, $"\"eval\": {{ \"prefbench\": [\"{bench}\"] }}"));
            return (["iterate", "--config", config, "--runs", Path.Combine(dir, "runs")], 2, [$"{bench}:1:"]);
        }),
    };

    /// <summary>A small loop config over the workspace with one section given.</summary>
    static string IterateConfigText(CliWorkspace w, string section) => $$"""
        {
          "name": "loop",
          "seed_model": "{{w.Model}}",
          "prompts": "{{w.Prompts}}",
          "iterations": 1,
          "generate": { "samples": 2, "max_new_tokens": 3 },
          {{section}}
        }
        """;

    public static TheoryData<string> Names => [.. Cases.Keys];

    [Theory]
    [MemberData(nameof(Names))]
    public void Is_refused_in_one_line_and_changes_nothing(string name)
    {
        string dir = w.Case(new string(name.Where(char.IsLetterOrDigit).ToArray()));
        var (args, code, mentions) = Cases[name].Setup(w, dir);
        var before = CliWorkspace.Snapshot(w.Root);
        var run = CliRunner.Run(args);
        Assert.True(code == run.Code, $"exit {run.Code}: {run.Err}");
        var lines = run.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.StartsWith("error: ", lines[0]);
        Assert.True(code == 1 || lines.Length == 1, run.Err);
        foreach (string m in mentions) Assert.Contains(m, run.Err);
        foreach (string dotnet in new[] { "   at ", "System.", "Exception", "LineNumber", "could not be mapped", "Could not find a part", "Access to the path" })
            Assert.DoesNotContain(dotnet, run.Err);
        Assert.Equal(before, CliWorkspace.Snapshot(w.Root));
    }

    /// <summary>A run refused for a bad value goes on once the value is corrected: nothing of it was recorded.</summary>
    [Fact]
    public void A_corrected_config_value_is_accepted_after_a_refusal()
    {
        string dir = w.Case("corrected");
        string config = Path.Combine(dir, "loop.json"), runs = Path.Combine(dir, "runs");
        File.WriteAllText(config, IterateConfigText(w, "\"judge\": { \"batch_tokens\": 0 }"));
        Assert.Equal(2, CliRunner.Run("iterate", "--config", config, "--runs", runs).Code);
        Assert.False(Directory.Exists(Path.Combine(runs, "loop")));
        File.WriteAllText(config, IterateConfigText(w, "\"judge\": { \"batch_tokens\": 512 }"));
        var run = CliRunner.Run("iterate", "--config", config, "--runs", runs);
        Assert.True(run.Code == 0, run.Err);
        Assert.True(File.Exists(Path.Combine(runs, "loop", "report.md")));
    }
}
