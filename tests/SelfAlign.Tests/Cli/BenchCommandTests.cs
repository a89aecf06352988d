using System.Text.Json;
using Xunit;

namespace SelfAlign.Tests.Cli;

/// <summary>bench, select-prompts and categorize end to end on a random-weight model with the real SmolLM2 tokenizer.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class BenchCommandTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("selfalign-bench-").FullName;
    readonly string _model;
    static string Suite => Path.Combine(AppContext.BaseDirectory, "data", "prefbench");

    public BenchCommandTests()
    {
        _model = Path.Combine(_dir, "model");
        var init = CliRunner.Run("init-model", "--config", Path.Combine(TestModels.Configs, "smollm2-135m", "config.json"),
            "--seed", "1", "--out", _model, "--layers", "2");
        Assert.True(init.Code == 0, init.Err);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string[] Bench(string output, params string[] extra) =>
        ["bench", "--model", _model, "--data", Suite, "--limit-per-subset", "1", "--seed", "3", "--out", output, "--threads", "1", "--dtype", "f32", .. extra];

    static List<JsonElement> Rows(string file) => File.ReadAllLines(file).Select(l => JsonDocument.Parse(l).RootElement).ToList();

    [Fact]
    public void Yes_no_bench_writes_results_and_resumes_without_rejudging()
    {
        string output = Path.Combine(_dir, "run");
        var run = CliRunner.Run(Bench(output));
        Assert.True(run.Code == 0, run.Err);
        string items = Path.Combine(output, "items.jsonl");
        var rows = Rows(items);
        Assert.Equal(16, rows.Count);
        foreach (var r in rows)
        {
            var c = r.GetProperty("judge").GetProperty("chosen")[0];
            double yes = c.GetProperty("p_yes").GetDouble(), no = c.GetProperty("p_no").GetDouble();
            Assert.Equal(yes / (yes + no), c.GetProperty("score").GetDouble(), 9);
            Assert.Equal(yes + no, c.GetProperty("mass").GetDouble(), 9);
        }
        var results = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "results.json"))).RootElement;
        // Every comparison is counted in the length split, as longer, shorter or of equal length.
        var split = results.GetProperty("length_split");
        Assert.True(split.GetProperty("chosen_longer_comparisons").GetInt32() + split.GetProperty("chosen_shorter_comparisons").GetInt32() > 0);
        Assert.Equal(16, results.GetProperty("records").GetInt32());
        Assert.Equal(4, results.GetProperty("sections").GetArrayLength());
        double mean = results.GetProperty("sections").EnumerateArray().Average(s => s.GetProperty("accuracy").GetDouble());
        Assert.Equal(mean, results.GetProperty("overall").GetDouble(), 12);
        Assert.Contains("| hep-go | Reasoning | 1 |", File.ReadAllText(Path.Combine(output, "report.md")));
        var png = File.ReadAllBytes(Path.Combine(output, "accuracy.png"));
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);

        // A killed run: keep 5 rows and a torn sixth; the rerun judges only the 11 missing records.
        var lines = File.ReadAllLines(items);
        File.WriteAllText(items, string.Join("\n", lines[..5]) + "\n" + lines[5][..40]);
        var again = CliRunner.Run(Bench(output));
        Assert.True(again.Code == 0, again.Err);
        var resumed = Rows(items);
        Assert.Equal(16, resumed.Count);
        Assert.Equal(16, resumed.Select(r => r.GetProperty("id").GetString()).Distinct().Count());
        Assert.Equal(lines[..5], File.ReadAllLines(items)[..5]);
        var rerun = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "results.json"))).RootElement;
        Assert.Equal(11, rerun.GetProperty("throughput").GetProperty("records").GetInt32());
        // Scores of the rejudged records match the first run's: same inputs, other batches (exact up to float32 rounding).
        var first = rows.ToDictionary(r => r.GetProperty("id").GetString()!, r => r.GetProperty("chosen_scores")[0].GetDouble());
        Assert.All(resumed, r => Assert.Equal(first[r.GetProperty("id").GetString()!], r.GetProperty("chosen_scores")[0].GetDouble(), 4));

        // Ties are a reporting choice: re-reporting with --ties wrong needs no judging.
        var wrong = CliRunner.Run(Bench(output, "--ties", "wrong"));
        Assert.True(wrong.Code == 0, wrong.Err);
        Assert.Equal("wrong", JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "results.json"))).RootElement.GetProperty("ties").GetString());
        // Judging options are not: a different prompt set is refused.
        var changed = CliRunner.Run(Bench(output, "--prompts", "ipo-dpo"));
        Assert.Equal(2, changed.Code);
        Assert.Contains("manifest", changed.Err);
    }

    [Fact]
    public void The_IPO_authors_preset_fixes_their_setting_and_refuses_to_mix()
    {
        string output = Path.Combine(_dir, "authors");
        var run = CliRunner.Run(Bench(output, "--preset", "ipo-authors"));
        Assert.True(run.Code == 0, run.Err);
        var results = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "results.json"))).RootElement;
        Assert.Equal("wrong", results.GetProperty("ties").GetString());
        var settings = results.GetProperty("settings");
        Assert.Equal(("ipo-authors", "plain", 1024), (settings.GetProperty("prompts").GetString(), settings.GetProperty("format").GetString(),
            settings.GetProperty("max_input_tokens").GetInt32()));
        Assert.Equal(["ĠYes"], settings.GetProperty("yes_tokens").EnumerateArray().Select(t => t.GetString()));
        // The RewardBench score sits beside the suite's own overall.
        Assert.Equal(JsonValueKind.Number, results.GetProperty("rewardbench").GetProperty("score").ValueKind);

        var mixed = CliRunner.Run(Bench(Path.Combine(_dir, "mixed"), "--preset", "ipo-authors", "--ties", "half"));
        Assert.Equal(2, mixed.Code);
        Assert.Contains("--ties", mixed.Err);
    }

    [Fact]
    public void Pairwise_and_additive_judges_run_on_RM_bench_records_with_model_categories()
    {
        string rm = Path.Combine(AppContext.BaseDirectory, "fixtures", "bench", "rmbench-format.json");
        string pairwise = Path.Combine(_dir, "pairwise");
        var run = CliRunner.Run("bench", "--model", _model, "--data", rm, "--judge", "pairwise", "--eta", "0.7", "--out", pairwise, "--threads", "1");
        Assert.True(run.Code == 0, run.Err);
        var rows = Rows(Path.Combine(pairwise, "items.jsonl"));
        Assert.Equal(2, rows.Count);
        Assert.All(rows, r => Assert.Equal("model", r.GetProperty("category_source").GetString()));
        var cell = rows[0].GetProperty("judge").GetProperty("comparisons")[0][0];
        double p = cell.GetProperty("preference").GetDouble();
        Assert.Equal((cell.GetProperty("chosen_as_a").GetDouble() + cell.GetProperty("chosen_as_b").GetDouble()) / 2, p, 12);
        Assert.Equal(0.7 + (Math.Max(p, 1 - p) - 0.5) * 0.3 / 0.5, cell.GetProperty("calibrated_strength").GetDouble(), 12);
        var results = JsonDocument.Parse(File.ReadAllText(Path.Combine(pairwise, "results.json"))).RootElement;
        Assert.Equal(JsonValueKind.Object, results.GetProperty("rm_bench").ValueKind);

        string additive = Path.Combine(_dir, "additive");
        run = CliRunner.Run("bench", "--model", _model, "--data", rm, "--judge", "additive", "--samples", "2", "--max-new-tokens", "8",
            "--out", additive, "--threads", "1");
        Assert.True(run.Code == 0, run.Err);
        rows = Rows(Path.Combine(additive, "items.jsonl"));
        // A random model writes no "Score: N": all 2 judgments of all 6 responses fail, and every comparison ties.
        Assert.All(rows, r => Assert.Equal(12, r.GetProperty("format_failures").GetInt32()));
        results = JsonDocument.Parse(File.ReadAllText(Path.Combine(additive, "results.json"))).RootElement;
        Assert.Equal(18, results.GetProperty("tie_count").GetInt32());
        Assert.Equal(0.5, results.GetProperty("overall").GetDouble(), 12);
    }

    [Fact]
    public void Malformed_records_stop_the_run_or_are_skipped_and_counted()
    {
        string data = Path.Combine(_dir, "data.jsonl");
        File.WriteAllLines(data,
        [
            "{\"prompt\": \"Is water wet?\", \"chosen\": \"Yes.\", \"rejected\": \"No.\", \"category\": \"chat\"}",
            "{\"prompt\": \"Broken\", \"chosen\": \"c\"}",
        ]);
        var failed = CliRunner.Run("bench", "--model", _model, "--data", data, "--out", Path.Combine(_dir, "x"), "--threads", "1");
        Assert.Equal(2, failed.Code);
        Assert.Contains($"{data}:2: missing field 'rejected'", failed.Err);

        string output = Path.Combine(_dir, "skip");
        var skipped = CliRunner.Run("bench", "--model", _model, "--data", data, "--out", output, "--skip-invalid", "--threads", "1");
        Assert.True(skipped.Code == 0, skipped.Err);
        var results = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "results.json"))).RootElement;
        Assert.Equal(1, results.GetProperty("skipped_invalid").GetInt32());
        Assert.Equal(1, results.GetProperty("records").GetInt32());
    }

    [Fact]
    public void Select_prompts_and_categorize_write_their_outputs()
    {
        string pool = Path.Combine(_dir, "pool.json");
        File.WriteAllText(pool, "{\"chat\": [\"Is this response good? Answer Yes/No.\", \"Judge the response. Answer Yes or No.\"], \"hep-go\": \"Is this Go code correct? Answer Yes/No.\"}");
        string selected = Path.Combine(_dir, "selected");
        var run = CliRunner.Run("select-prompts", "--model", _model, "--data", Suite, "--candidates", pool, "--per-category", "2",
            "--out", selected, "--threads", "1");
        Assert.True(run.Code == 0, run.Err);
        var set = JsonDocument.Parse(File.ReadAllText(Path.Combine(selected, "prompts.json"))).RootElement.GetProperty("categories");
        Assert.Equal("Is this Go code correct? Answer Yes/No.", set.GetProperty("code").GetString());
        Assert.Equal(3, JsonDocument.Parse(File.ReadAllText(Path.Combine(selected, "candidates.json"))).RootElement.GetArrayLength());
        // The chosen set feeds the yes/no judge.
        var bench = CliRunner.Run("bench", "--model", _model, "--data", Path.Combine(Suite, "hep-go.jsonl"), "--limit-per-subset", "1",
            "--prompts", Path.Combine(selected, "prompts.json"), "--out", Path.Combine(_dir, "b"), "--threads", "1");
        Assert.True(bench.Code == 0, bench.Err);

        string categories = Path.Combine(_dir, "categories");
        run = CliRunner.Run("categorize", "--model", _model, "--data", Suite, "--limit-per-subset", "1", "--out", categories, "--threads", "1");
        Assert.True(run.Code == 0, run.Err);
        var confusion = JsonDocument.Parse(File.ReadAllText(Path.Combine(categories, "confusion.json"))).RootElement;
        Assert.Equal(16, confusion.GetProperty("records").GetInt32());
        Assert.Equal(16, confusion.GetProperty("counts").EnumerateArray().Sum(r => r.EnumerateArray().Sum(c => c.GetInt32())));
    }
}
