using System.Text.Json.Nodes;
using SelfAlign.Tests.Cli;
using Xunit;

namespace SelfAlign.Tests.Serving;

/// <summary><c>bench --engine URL</c> against a running server reproduces the local run: the same outcomes, scores within tolerance.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class BenchOnEngineTests(ServedModelFixture served) : IClassFixture<ServedModelFixture>, IDisposable
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
}
