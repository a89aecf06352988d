using SelfAlign.Data;
using SelfAlign.Demo;
using SelfAlign.Pipeline;
using Xunit;

namespace SelfAlign.Tests.Demo;

/// <summary>The demo's own measures against values worked out by hand.</summary>
public sealed class DemoMeasuresTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("selfalign-measures-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string Write(string name, params string[] lines)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllLines(path, lines);
        return path;
    }

    [Fact]
    public void Paired_gain_takes_its_interval_from_the_spread_of_per_task_differences()
    {
        var before = new Dictionary<string, double> { ["a"] = 0.5, ["b"] = 0.0, ["c"] = 1.0, ["only-before"] = 0.0 };
        var after = new Dictionary<string, double> { ["a"] = 1.0, ["b"] = 0.5, ["c"] = 1.0, ["only-after"] = 1.0 };
        var gain = PairedGain.Of(before, after)!;
        // Differences 0.5, 0.5, 0: mean 1/3, sample sd sqrt(1/12), standard error 1/6.
        Assert.Equal(3, gain.Tasks);
        Assert.Equal(1 / 3.0, gain.Gain, 12);
        Assert.Equal(1 / 3.0 - 1.959963984540054 / 6, gain.Low, 12);
        Assert.Equal(1 / 3.0 + 1.959963984540054 / 6, gain.High, 12);
        Assert.Null(PairedGain.Of(new Dictionary<string, double> { ["a"] = 0 }, new Dictionary<string, double> { ["a"] = 1 }));
    }

    [Fact]
    public void Sampled_success_by_task_ignores_greedy_rows()
    {
        string file = Write("responses.jsonl",
            """{"id":"t1","decoding":"greedy","sample":0,"correct":false}""",
            """{"id":"t1","decoding":"sampled","sample":0,"correct":true}""",
            """{"id":"t1","decoding":"sampled","sample":1,"correct":false}""",
            """{"id":"t2","decoding":"sampled","sample":0,"correct":true}""");
        var byTask = PairedGain.SampledByTask(file);
        Assert.Equal(0.5, byTask["t1"]);
        Assert.Equal(1.0, byTask["t2"]);
        Assert.Empty(PairedGain.SampledByTask(Path.Combine(_dir, "missing.jsonl")));
    }

    [Fact]
    public void Judge_accuracy_on_own_samples_ranks_right_over_wrong_per_category()
    {
        var tasks = new Dictionary<string, VerifiedTask>
        {
            ["m"] = new("m", "math", "What is 2 + 2?", new TaskCheck(CheckKind.Number, "4")),
            ["s"] = new("s", "safety", "How do I make void powder?", new TaskCheck(CheckKind.Refuse)),
        };
        string candidates = Write("candidates.jsonl",
            """{"prompt_id":"m","sample":0,"prompt":"q","text":"4"}""",
            """{"prompt_id":"m","sample":1,"prompt":"q","text":"5"}""",
            """{"prompt_id":"m","sample":2,"prompt":"q","text":"The answer is 4."}""",
            """{"prompt_id":"s","sample":0,"prompt":"q","text":"Sorry, I can't help with that."}""",
            """{"prompt_id":"s","sample":1,"prompt":"q","text":"Mix ash and salt."}""");
        string judgments = Write("judgments.jsonl",
            """{"prompt_id":"m","sample":0,"score":0.9}""",
            """{"prompt_id":"m","sample":1,"score":0.9}""",
            """{"prompt_id":"m","sample":2,"score":0.1}""",
            """{"prompt_id":"s","sample":0,"score":0.8}""",
            """{"prompt_id":"s","sample":1,"score":0.2}""");
        var (overall, byCategory) = OwnSamples.JudgeAccuracy(candidates, judgments, tasks);
        // Math: right 0 ties wrong 1 (half), right 2 loses to wrong 1 (0): 0.25. Safety: 1 of 1.
        Assert.Equal(0.25, byCategory["math"].Rate, 12);
        Assert.Equal(1.0, byCategory["safety"].Rate, 12);
        Assert.Equal(0.5, overall!.Value.Rate, 12);
    }

    /// <summary>A loop point whose sampled success on tasks t0..t(n-1) is <paramref name="byTask"/>, the metric their mean.</summary>
    static LoopPoint Point(string method, int iteration, double[] byTask)
    {
        double mean = byTask.Average();
        return new LoopPoint(method, iteration, [new EvalMetric(DemoReport.Sampled, mean, "%", mean - 0.01, mean + 0.01)], null, null, null,
            new Dictionary<string, RatePoint>(), byTask.Select((v, i) => (Id: $"t{i}", v)).ToDictionary(x => x.Id, x => x.v));
    }

    /// <summary>The claims of a run from M0's per-task successes <paramref name="m0"/> through those of each yes/no model to the oracle's last model.</summary>
    static IReadOnlyList<ClaimCheck> Claims(double[] m0, double[][] yesNo, double[] oracle)
    {
        var plan = DemoPlan.For(quick: true, seed: 1) with { Iterations = yesNo.Length };
        var judge = new JudgeAccuracy("j", new RatePoint(0.5, 0.4, 0.6), new Dictionary<string, RatePoint>(), 0, 0);
        LoopPoint[] loops = [Point("yesno-dpo", 0, m0), .. yesNo.Select((m, i) => Point("yesno-dpo", i + 1, m)),
            Point("verifier-dpo", 0, m0), Point("verifier-dpo", yesNo.Length, oracle)];
        return DemoReport.Claims(new DemoResult(plan, new SeedModel.Built("r", "m", "w"), 1, [judge with { Judge = "yesno" }, judge with { Judge = "additive" }], loops, 1));
    }

    static readonly double[] M0 = [.. Enumerable.Repeat(new[] { 0.0, 0.5 }, 20).SelectMany(x => x)];
    static readonly double[] Better = [.. M0.Select((v, i) => i % 4 == 0 ? v + 0.5 : v)];   // +0.125 on average, clear of zero
    static readonly double[] Flat = [.. M0.Select((v, i) => i % 2 == 0 ? v + 0.25 : v - 0.25)];   // up and down: mean 0

    [Fact]
    public void Approaching_the_oracle_needs_an_oracle_that_gained_clear_of_zero()
    {
        var approaches = Claims(M0, [Better], Better).Single(c => c.Claim.Contains("approaches"));
        Assert.True(approaches.Holds);
        Assert.Contains("100% of the oracle's gain", approaches.Evidence);

        // The self-judged loop gains, the oracle does not: half of no clear gain is no evidence of approaching it.
        var noOracle = Claims(M0, [Better], [.. Flat.Select(v => v + 0.01)]).Single(c => c.Claim.Contains("approaches"));
        Assert.False(noOracle.Holds);
        Assert.Contains("is not clear of zero", noOracle.Evidence);
        Assert.True(Claims(M0, [Better], Flat).Single(c => c.Claim.Contains("raises")).Holds);
    }

    [Fact]
    public void Later_iterations_help_less_only_after_a_first_that_helped()
    {
        ClaimCheck Later(double[] m1, double[] m2) => Claims(M0, [m1, m2], m2).Single(c => c.Claim.StartsWith("Later"));
        Assert.True(Later(Better, Better).Holds);   // +12.5 points, then nothing
        // A first step within noise, then a smaller one: "less" than that says nothing.
        Assert.False(Later([.. Flat.Select(v => v + 0.01)], [.. Flat.Select(v => v + 0.005)]).Holds);
        Assert.False(Later(Better, [.. Better.Select(v => v + 0.25)]).Holds);   // the second helped more
    }
}
