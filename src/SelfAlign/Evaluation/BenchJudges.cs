using System.Text.Json.Nodes;
using SelfAlign.Judging;

namespace SelfAlign.Evaluation;

/// <summary>
/// One judge's verdict on a benchmark record: the comparison matrix (chosen i vs rejected j: 1 win,
/// 0 loss, 0.5 tie), the scores behind it and everything the judge read (probabilities, judgments).
/// </summary>
/// <param name="Outcomes">[chosen][rejected] comparison results, ties as 0.5.</param>
/// <param name="ChosenScores">Score of each chosen response (pairwise: p(chosen ≻ rejected) per comparison, row-major).</param>
/// <param name="RejectedScores">Score of each rejected response (pairwise: the complement).</param>
/// <param name="FormatFailures">Judgments without a usable answer.</param>
/// <param name="Details">The judge's raw readings, written to the per-item output.</param>
public sealed record BenchVerdict(double[][] Outcomes, double[] ChosenScores, double[] RejectedScores, int FormatFailures, JsonObject Details);

/// <summary>A judge as the preference benchmark uses it: records in (with their categories), verdicts out.</summary>
public interface IBenchJudge
{
    /// <summary>yesno, additive or pairwise.</summary>
    string Name { get; }
    /// <summary>The judge's settings, recorded in the manifest and results.</summary>
    JsonObject Settings { get; }
    /// <summary>Records judged per call: large enough to batch well, small enough to checkpoint often.</summary>
    int ChunkSize { get; }
    /// <summary>Judges each record; <paramref name="categories"/> holds the category of each.</summary>
    IReadOnlyList<BenchVerdict> Judge(IReadOnlyList<BenchItem> items, IReadOnlyList<string> categories, Action<int>? onProgress);
}

/// <summary>Pointwise judges score every response on its own; a record's comparisons follow from the scores.</summary>
static class Pointwise
{
    public static double[][] Compare(double?[] chosen, double?[] rejected) =>
        chosen.Select(c => rejected.Select(r => c is double x && r is double y ? Outcome.Of(x, y, TieRule.Half) : 0.5).ToArray()).ToArray();

    /// <summary>Every response of every record in one flat list, with the way back.</summary>
    public static (List<JudgeItem> Flat, Func<int, int, bool, int> At) Flatten(IReadOnlyList<BenchItem> items, IReadOnlyList<string> categories)
    {
        var flat = new List<JudgeItem>();
        var offsets = new int[items.Count];
        for (int i = 0; i < items.Count; i++)
        {
            offsets[i] = flat.Count;
            foreach (var r in items[i].Chosen.Concat(items[i].Rejected)) flat.Add(new JudgeItem(items[i].Prompt, r, categories[i], items[i].Subset));
        }
        return (flat, (item, k, rejected) => offsets[item] + (rejected ? items[item].Chosen.Count : 0) + k);
    }
}

/// <summary>The IPO yes/no judge on benchmark records.</summary>
public sealed class YesNoBenchJudge(YesNoJudge judge) : IBenchJudge
{
    /// <inheritdoc />
    public string Name => "yesno";
    /// <inheritdoc />
    public int ChunkSize => 64;
    /// <inheritdoc />
    public JsonObject Settings => new()
    {
        ["prompts"] = judge.Options.Prompts.Name,
        ["prompt_texts"] = new JsonObject(judge.Options.Prompts.ByCategory.Concat(judge.Options.Prompts.BySubset)
            .Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
        ["format"] = judge.Options.Format.ToString().ToLowerInvariant(),
        ["yes_tokens"] = new JsonArray([.. judge.Yes.Spellings.Select(s => (JsonNode?)s)]),
        ["no_tokens"] = new JsonArray([.. judge.No.Spellings.Select(s => (JsonNode?)s)]),
    };

    /// <inheritdoc />
    public IReadOnlyList<BenchVerdict> Judge(IReadOnlyList<BenchItem> items, IReadOnlyList<string> categories, Action<int>? onProgress)
    {
        var (flat, at) = Pointwise.Flatten(items, categories);
        var scores = judge.Score(flat);
        return items.Select((item, i) =>
        {
            JsonArray Side(int count, bool rejected) => new([.. Enumerable.Range(0, count).Select(k =>
            {
                var s = scores[at(i, k, rejected)];
                return (JsonNode)new JsonObject { ["p_yes"] = s.PYes, ["p_no"] = s.PNo, ["mass"] = s.Mass, ["score"] = s.Score };
            })]);
            var chosen = Enumerable.Range(0, item.Chosen.Count).Select(k => scores[at(i, k, false)].Score).ToArray();
            var rejected = Enumerable.Range(0, item.Rejected.Count).Select(k => scores[at(i, k, true)].Score).ToArray();
            onProgress?.Invoke(1);
            return new BenchVerdict(Pointwise.Compare([.. chosen.Cast<double?>()], [.. rejected.Cast<double?>()]), chosen, rejected, 0,
                new JsonObject { ["chosen"] = Side(item.Chosen.Count, false), ["rejected"] = Side(item.Rejected.Count, true) });
        }).ToArray();
    }
}

/// <summary>The Self-Rewarding additive judge on benchmark records; an unscored response ties.</summary>
public sealed class AdditiveBenchJudge(AdditiveJudge judge) : IBenchJudge
{
    /// <inheritdoc />
    public string Name => "additive";
    /// <inheritdoc />
    public int ChunkSize => 8;
    /// <inheritdoc />
    public JsonObject Settings => new()
    {
        ["samples"] = judge.Options.Samples,
        ["temperature"] = judge.Options.EffectiveSampling.Temperature,
        ["top_p"] = judge.Options.EffectiveSampling.TopP,
        ["max_new_tokens"] = judge.Options.EffectiveSampling.MaxNewTokens,
        ["seed"] = judge.Options.Seed,
    };

    /// <inheritdoc />
    public IReadOnlyList<BenchVerdict> Judge(IReadOnlyList<BenchItem> items, IReadOnlyList<string> categories, Action<int>? onProgress)
    {
        var (flat, at) = Pointwise.Flatten(items, categories);
        var scores = judge.Score(flat);
        return items.Select((item, i) =>
        {
            AdditiveScore Get(int k, bool rejected) => scores[at(i, k, rejected)];
            JsonArray Side(int count, bool rejected) => new([.. Enumerable.Range(0, count).Select(k =>
            {
                var s = Get(k, rejected);
                return (JsonNode)new JsonObject
                {
                    ["scores"] = new JsonArray([.. s.Scores.Select(x => (JsonNode?)x)]),
                    ["mean"] = s.Mean,
                    ["failures"] = s.Failures,
                    ["judgments"] = new JsonArray([.. s.Judgments.Select(x => (JsonNode?)x)]),
                };
            })]);
            var chosen = Enumerable.Range(0, item.Chosen.Count).Select(k => Get(k, false).Mean).ToArray();
            var rejected = Enumerable.Range(0, item.Rejected.Count).Select(k => Get(k, true).Mean).ToArray();
            int failures = chosen.Concat(rejected).Count(m => m is null);
            onProgress?.Invoke(1);
            return new BenchVerdict(Pointwise.Compare(chosen, rejected), [.. chosen.Select(m => m ?? double.NaN)],
                [.. rejected.Select(m => m ?? double.NaN)], failures,
                new JsonObject { ["chosen"] = Side(item.Chosen.Count, false), ["rejected"] = Side(item.Rejected.Count, true) });
        }).ToArray();
    }
}

/// <summary>The PSO pairwise judge on benchmark records: every chosen response against every rejected one, both orders.</summary>
public sealed class PairwiseBenchJudge(PairwiseJudge judge, double eta = 0.5) : IBenchJudge
{
    /// <inheritdoc />
    public string Name => "pairwise";
    /// <inheritdoc />
    public int ChunkSize => 32;
    /// <inheritdoc />
    public JsonObject Settings => new()
    {
        ["a_tokens"] = new JsonArray([.. judge.A.Spellings.Select(s => (JsonNode?)s)]),
        ["b_tokens"] = new JsonArray([.. judge.B.Spellings.Select(s => (JsonNode?)s)]),
        ["eta"] = eta,
    };

    /// <inheritdoc />
    public IReadOnlyList<BenchVerdict> Judge(IReadOnlyList<BenchItem> items, IReadOnlyList<string> categories, Action<int>? onProgress)
    {
        var pairs = items.SelectMany(item => item.Chosen.SelectMany(c => item.Rejected.Select(r => new PairwiseItem(item.Prompt, c, r)))).ToList();
        var scores = judge.Compare(pairs);
        int at = 0;
        return items.Select(item =>
        {
            var outcomes = new double[item.Chosen.Count][];
            var details = new JsonArray();
            var preference = new List<double>();
            for (int i = 0; i < item.Chosen.Count; i++)
            {
                outcomes[i] = new double[item.Rejected.Count];
                var row = new JsonArray();
                for (int j = 0; j < item.Rejected.Count; j++)
                {
                    var s = scores[at++];
                    outcomes[i][j] = Outcome.Of(s.Preference, 1 - s.Preference, TieRule.Half);
                    preference.Add(s.Preference);
                    row.Add(new JsonObject
                    {
                        ["chosen_as_a"] = s.FirstAsA, ["chosen_as_b"] = s.FirstAsB,
                        ["mass_as_a"] = s.MassAsA, ["mass_as_b"] = s.MassAsB,
                        ["preference"] = s.Preference, ["strength"] = s.Strength, ["calibrated_strength"] = s.CalibratedStrength(eta),
                    });
                }
                details.Add(row);
            }
            onProgress?.Invoke(1);
            return new BenchVerdict(outcomes, [.. preference], [.. preference.Select(p => 1 - p)], 0, new JsonObject { ["comparisons"] = details });
        }).ToArray();
    }
}
