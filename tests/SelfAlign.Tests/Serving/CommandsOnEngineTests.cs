using System.Text.Json.Nodes;
using SelfAlign.Tests.Cli;
using Xunit;

namespace SelfAlign.Tests.Serving;

/// <summary>Commands with <c>--engine URL</c> against a running server reproduce their local runs: the same samples, outcomes and scores (within tolerance).</summary>
[Collection(ConsoleCollection.Name)]
public sealed class CommandsOnEngineTests(ServedModelFixture served) : IClassFixture<ServedModelFixture>, IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("selfalign-bench-engine-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("yesno")]
    [InlineData("pairwise")]
    public void Bench_on_the_server_reproduces_the_local_results(string judge)
    {
        string data = Path.Combine(AppContext.BaseDirectory, "data", "prefbench", "llmbar-natural.jsonl");
        string local = Path.Combine(_dir, $"local-{judge}"), remote = Path.Combine(_dir, $"remote-{judge}");
        var a = CliRunner.Run("bench", "--model", served.Folder, "--dtype", "f32", "--judge", judge, "--data", data, "--limit-per-subset", "6", "--out", local);
        Assert.True(a.Code == 0, a.Err);
        var b = CliRunner.Run("bench", "--model", served.Folder, "--engine", served.Server.Address.ToString(), "--judge", judge, "--data", data,
            "--limit-per-subset", "6", "--out", remote);
        Assert.True(b.Code == 0, b.Err);
        static Dictionary<string, JsonNode> Items(string dir) => File.ReadAllLines(Path.Combine(dir, "items.jsonl")).Select(l => JsonNode.Parse(l)!).ToDictionary(r => (string)r["id"]!);
        var (near, far) = (Items(local), Items(remote));
        Assert.Equal(near.Keys.Order(), far.Keys.Order());
        foreach (var (id, row) in near)
        {
            Assert.Equal(row["outcomes"]!.ToJsonString(), far[id]["outcomes"]!.ToJsonString());
            foreach (string side in new[] { "chosen_scores", "rejected_scores" })
                foreach (var (x, y) in row[side]!.AsArray().Zip(far[id][side]!.AsArray())) Assert.Equal((double)x!, (double)y!, 1e-4);
        }
        var results = JsonNode.Parse(File.ReadAllText(Path.Combine(remote, "results.json")))!;
        Assert.Equal(JsonNode.Parse(File.ReadAllText(Path.Combine(local, "results.json")))!["overall"]!.ToJsonString(), results["overall"]!.ToJsonString());
        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(remote, "manifest.json")))!;
        Assert.Equal("tiny", (string?)manifest["config"]!["engine"]!["model"]);
    }

    [Fact]
    public void Generate_and_judge_on_the_server_reproduce_the_local_rows()
    {
        string prompts = Path.Combine(AppContext.BaseDirectory, "data", "seed", "prompts_sample.jsonl");
        string engine = served.Server.Address.ToString();
        var rows = new Dictionary<string, List<JsonNode>>();
        foreach (var (name, extra) in new[] { ("local", new[] { "--dtype", "f32" }), ("remote", new[] { "--engine", engine }) })
        {
            string candidates = Path.Combine(_dir, $"{name}.jsonl"), judgments = Path.Combine(_dir, $"{name}-judged.jsonl");
            var g = CliRunner.Run(["generate", "--model", served.Folder, "--prompts", prompts, "-n", "2", "--max-new-tokens", "8", "--temperature", "0.8",
                "--top-k", "30", "--seed", "4", "--out", candidates, .. extra]);
            Assert.True(g.Code == 0, g.Err);
            // Keep four prompts' candidates to judge.
            File.WriteAllLines(candidates, File.ReadAllLines(candidates).Take(8));
            var j = CliRunner.Run(["judge", "--model", served.Folder, "--candidates", candidates, "--judge", "yesno", "--out", judgments, .. extra]);
            Assert.True(j.Code == 0, j.Err);
            rows[name] = [.. File.ReadAllLines(candidates).Concat(File.ReadAllLines(judgments)).Select(l => JsonNode.Parse(l)!)];
        }
        Assert.Equal(rows["local"].Count, rows["remote"].Count);
        foreach (var (a, b) in rows["local"].Zip(rows["remote"]))
            foreach (var (key, value) in a.AsObject())
                if (value is JsonValue v && v.TryGetValue<double>(out double x) && key is "sum_logprob" or "score" or "p_yes" or "p_no")
                    Assert.Equal(x, (double)b[key]!, 1e-3);
                else Assert.Equal(value?.ToJsonString(), b[key]?.ToJsonString());
    }

    [Fact]
    public void Evaluations_on_the_server_reproduce_the_local_results()
    {
        string engine = served.Server.Address.ToString();
        string choices = Path.Combine(_dir, "choice.jsonl");
        File.WriteAllLines(choices, [
            "{\"id\": \"q1\", \"context\": \"The sky is\", \"choices\": [\"blue\", \"green\"], \"answer\": 0}",
            "{\"id\": \"q2\", \"context\": \"Two plus two is\", \"choices\": [\"four\", \"five\", \"six\"], \"answer\": 0}"]);
        string[][] runs =
        [
            ["eval", "ifeval", "--limit", "4", "--max-new-tokens", "8"],
            ["eval", "bbh", "--task", "navigate", "--limit", "2", "--max-new-tokens", "8"],
            ["eval", "choice", "--data", choices],
        ];
        foreach (var run in runs)
        {
            string local = Path.Combine(_dir, $"{run[1]}-local"), remote = Path.Combine(_dir, $"{run[1]}-remote");
            var a = CliRunner.Run([.. run, "--model", served.Folder, "--dtype", "f32", "--out", local]);
            Assert.True(a.Code == 0, a.Err);
            var b = CliRunner.Run([.. run, "--model", served.Folder, "--engine", engine, "--out", remote]);
            Assert.True(b.Code == 0, b.Err);
            string file = run[1] switch { "ifeval" => "eval_results_loose.jsonl", _ => "items.jsonl" };
            var (near, far) = (File.ReadAllLines(Path.Combine(local, file)), File.ReadAllLines(Path.Combine(remote, file)));
            Assert.Equal(near.Length, far.Length);
            foreach (var (x, y) in near.Zip(far))
                if (run[1] == "choice")
                    foreach (var (p, q) in JsonNode.Parse(x)!["logprobs"]!.AsArray().Zip(JsonNode.Parse(y)!["logprobs"]!.AsArray())) Assert.Equal((double)p!, (double)q!, 1e-3);
                else Assert.Equal(x, y);
        }
    }

    [Fact]
    public void Serve_on_a_port_in_use_stops_in_one_line()
    {
        var run = CliRunner.Run("serve", "--model", served.Folder, "--port", served.Server.Address.Port.ToString());
        Assert.Equal(2, run.Code);
        Assert.Contains($"--port {served.Server.Address.Port}: cannot listen there", run.Err);
        Assert.DoesNotContain("   at ", run.Err);
    }
}
