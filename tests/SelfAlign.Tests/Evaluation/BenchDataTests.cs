using SelfAlign.Data;
using SelfAlign.Evaluation;
using SelfAlign.Judging;
using Xunit;

namespace SelfAlign.Tests.Evaluation;

/// <summary>Reading RewardBench rows and RM-Bench arrays; malformed records fail with file:line or are skipped.</summary>
public sealed class BenchDataTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("selfalign-benchdata-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static string Shipped => Path.Combine(AppContext.BaseDirectory, "data", "prefbench");

    string Write(string name, params string[] lines)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, string.Join("\n", lines) + "\n");
        return path;
    }

    [Fact]
    public void Shipped_suite_loads_with_sections_and_categories()
    {
        var (items, skipped) = BenchData.Load([Shipped], skipInvalid: false);
        Assert.Empty(skipped);
        Assert.Equal(2111, items.Count);
        Assert.Equal(["Chat", "Chat Hard", "Reasoning", "Safety"], items.Select(i => i.Section).Distinct().Order());
        Assert.All(items, i => Assert.Contains(i.Category, Categories.All));
        Assert.Equal(164, items.Count(i => i.Subset == "hep-python"));
        var sample = BenchData.Sample(items, 3, seed: 1);
        Assert.Equal(16 * 3, sample.Count);
        Assert.Equal(sample, BenchData.Sample(items, 3, seed: 1));
        Assert.NotEqual(sample, BenchData.Sample(items, 3, seed: 2));
    }

    [Fact]
    public void RM_bench_arrays_expand_to_3x3_records_with_lines()
    {
        var (items, _) = BenchData.Load([Path.Combine(AppContext.BaseDirectory, "fixtures", "bench", "rmbench-format.json")], false);
        Assert.Equal(2, items.Count);
        Assert.All(items, i => Assert.True(i.HasStyleLevels));
        Assert.Equal("rmbench-format-1", items[0].Id);
        Assert.Null(items[0].Category);
        Assert.EndsWith("rmbench-format.json:2", items[0].Source);
        Assert.EndsWith("rmbench-format.json:18", items[1].Source);
        Assert.Equal("chat", items[0].Section);
    }

    [Fact]
    public void RM_bench_domains_come_from_the_field_or_the_file_and_pool_safety()
    {
        string record = "{\"id\": 1, \"subset\": \"alpacaeval\", \"prompt\": \"p\", \"chosen\": [\"a\", \"b\", \"c\"], \"rejected\": [\"x\", \"y\", \"z\"]}";
        // As published: one file per domain, whose records name only their source set.
        var (chat, _) = BenchData.Load([Write("chat_filtered.json", $"[{record}]")], false);
        Assert.Equal(("alpacaeval", "chat"), (chat[0].Subset, chat[0].Section));
        var (safety, _) = BenchData.Load([Write("total_dataset.json", $"[{record.Replace("\"id\": 1,", "\"id\": 2, \"domain\": \"safety-refuse\",")}]")], false);
        Assert.Equal(("alpacaeval", "safety"), (safety[0].Subset, safety[0].Section));
    }

    [Theory]
    [InlineData("{\"prompt\": \"p\", \"chosen\": \"c\"}", "missing field 'rejected'")]
    [InlineData("{\"prompt\": \"\", \"chosen\": \"c\", \"rejected\": \"r\"}", "field 'prompt' is empty")]
    [InlineData("{\"prompt\": \"p\", \"chosen\": 3, \"rejected\": \"r\"}", "field 'chosen' must be a string or a list of strings")]
    [InlineData("{\"prompt\": \"p\", \"chosen\": [], \"rejected\": \"r\"}", "field 'chosen' is an empty list")]
    [InlineData("{\"prompt\": \"p\", \"chosen\": \"c\", \"rejected\": \"r\", \"category\": \"poetry\"}", "field 'category' is 'poetry'")]
    [InlineData("{\"prompt\": \"p\", \"chosen\": \"c\", \"rejected\": \"r\", \"id\": \"x\"}", "duplicate id 'x'")]
    [InlineData("{\"prompt\": \"p\", \"chosen\": \"c\", \"rejected\"", "invalid JSON")]
    public void Malformed_record_fails_with_file_and_line(string bad, string reason)
    {
        string file = Write("rows.jsonl", "{\"id\": \"x\", \"prompt\": \"p\", \"chosen\": \"c\", \"rejected\": \"r\"}", "", bad);
        var e = Assert.Throws<DataFormatException>(() => BenchData.Load([file], skipInvalid: false));
        Assert.StartsWith($"{file}:3: ", e.Message);
        Assert.Contains(reason, e.Message);
    }

    [Fact]
    public void Skip_invalid_counts_the_bad_records_and_keeps_the_rest()
    {
        string file = Write("rows.jsonl",
            "{\"prompt\": \"p\", \"chosen\": \"c\", \"rejected\": \"r\"}",
            "{\"prompt\": \"p\", \"chosen\": \"c\"}",
            "{\"prompt\": \"q\", \"chosen\": \"c\", \"rejected\": \"r\", \"subset\": \"s\", \"section\": \"T\", \"category\": \"Code\"}");
        var (items, skipped) = BenchData.Load([file], skipInvalid: true);
        Assert.Equal(2, items.Count);
        Assert.Equal(("rows", "rows", "rows-line1"), (items[0].Subset, items[0].Section, items[0].Id));
        Assert.Equal(("s", "T", "code"), (items[1].Subset, items[1].Section, items[1].Category));
        Assert.Equal(2, Assert.Single(skipped).Line);
    }

    [Fact]
    public void Prompt_sets_round_trip_and_the_shipped_candidate_pool_maps_subsets_to_categories()
    {
        string file = Path.Combine(_dir, "set.json");
        JudgePromptSet.IpoEvaluation.Save(file);
        var back = JudgePromptSet.Get(file);
        Assert.Equal(JudgePromptSet.IpoEvaluation.ByCategory, back.ByCategory);
        Assert.Equal(JudgePromptSet.IpoEvaluation.BySubset, back.BySubset);
        Assert.Throws<DataFormatException>(() => JudgePromptSet.Load(Write("bad.json", "{\"categories\": {\"poetry\": \"x\"}}")));

        var pool = CandidatePool.Load(Path.Combine(AppContext.BaseDirectory, "data", "prompts", "ipo_candidate_prompts.json"));
        Assert.Equal(Categories.All, pool.Keys.Order());
        Assert.All(pool.Values, v => Assert.True(v.Count >= 10));
        Assert.All(pool.Values.SelectMany(v => v), p => Assert.DoesNotContain("\r", p));
        Assert.Contains(pool["code"], p => p.Contains("Rust"));
    }
}
