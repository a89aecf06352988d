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
    IReadOnlyList<BenchVerdict> Judge(IReadOnlyList<BenchItem> items, IReadOnlyList<string> categories);
}

/// <summary>Pointwise judges score every response on its own; a record's comparisons follow from the scores.</summary>
static class Pointwise
{
    /// <summary>Scores every response of every record in one call and builds each record's verdict.</summary>
    /// <param name="items">The records.</param>
    /// <param name="categories">Each record's category.</param>
    /// <param name="score">The judge, over all responses at once.</param>
    /// <param name="value">A response's score; null when it has none (a tie against anything).</param>
    /// <param name="failures">Judgments of a response without a usable answer.</param>
    /// <param name="detail">What the judge read for a response.</param>
    public static IReadOnlyList<BenchVerdict> Judge<T>(IReadOnlyList<BenchItem> items, IReadOnlyList<string> categories,
        Func<IReadOnlyList<JudgeItem>, IReadOnlyList<T>> score, Func<T, double?> value, Func<T, int> failures, Func<T, JsonObject> detail)
    {
        var flat = items.SelectMany((item, i) => item.Chosen.Concat(item.Rejected).Select(r => new JudgeItem(item.Prompt, r, categories[i], item.Subset))).ToArray();
        var scores = score(flat);
        int at = 0;
        return items.Select(item =>
        {
            var chosen = scores.Skip(at).Take(item.Chosen.Count).ToArray();
            var rejected = scores.Skip(at + item.Chosen.Count).Take(item.Rejected.Count).ToArray();
            at += item.Chosen.Count + item.Rejected.Count;
            double?[] c = [.. chosen.Select(value)], r = [.. rejected.Select(value)];
            var outcomes = c.Select(x => r.Select(y => x is double a && y is double b ? Outcome.Of(a, b, TieRule.Half) : 0.5).ToArray()).ToArray();
            return new BenchVerdict(outcomes, [.. c.Select(x => x ?? double.NaN)], [.. r.Select(x => x ?? double.NaN)],
                chosen.Concat(rejected).Sum(failures), new JsonObject
                {
                    ["chosen"] = new JsonArray([.. chosen.Select(x => (JsonNode)detail(x))]),
                    ["rejected"] = new JsonArray([.. rejected.Select(x => (JsonNode)detail(x))]),
                });
        }).ToArray();
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
    public JsonObject Settings
    {
        get
        {
            var settings = new JsonObject
            {
                ["prompts"] = judge.Options.Prompts.Name,
                ["prompt_texts"] = new JsonObject(judge.Options.Prompts.ByCategory.Concat(judge.Options.Prompts.BySubset)
                    .Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
                ["format"] = judge.Options.Format.ToString().ToLowerInvariant(),
                ["yes_tokens"] = new JsonArray([.. judge.Yes.Spellings.Select(s => (JsonNode?)s)]),
                ["no_tokens"] = new JsonArray([.. judge.No.Spellings.Select(s => (JsonNode?)s)]),
            };
            // Only where set, so the manifests of runs without a cut stay as they were.
            if (judge.Options.MaxInputTokens is int n) settings["max_input_tokens"] = n;
            return settings;
        }
    }

    /// <inheritdoc />
    public IReadOnlyList<BenchVerdict> Judge(IReadOnlyList<BenchItem> items, IReadOnlyList<string> categories) =>
        Pointwise.Judge(items, categories, flat => judge.Score(flat), s => s.Score, _ => 0,
            s => new JsonObject { ["p_yes"] = s.PYes, ["p_no"] = s.PNo, ["mass"] = s.Mass, ["score"] = s.Score });
}

/// <summary>The Self-Rewarding additive judge on benchmark records; a response without a parsed score ties.</summary>
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
    public IReadOnlyList<BenchVerdict> Judge(IReadOnlyList<BenchItem> items, IReadOnlyList<string> categories) =>
        Pointwise.Judge(items, categories, flat => judge.Score(flat), s => s.Mean, s => s.Failures, s => new JsonObject
        {
            ["scores"] = new JsonArray([.. s.Scores.Select(x => (JsonNode?)x)]),
            ["mean"] = s.Mean,
            ["failures"] = s.Failures,
            ["judgments"] = new JsonArray([.. s.Judgments.Select(x => (JsonNode?)x)]),
        });
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
    public IReadOnlyList<BenchVerdict> Judge(IReadOnlyList<BenchItem> items, IReadOnlyList<string> categories)
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
            return new BenchVerdict(outcomes, [.. preference], [.. preference.Select(p => 1 - p)], 0, new JsonObject { ["comparisons"] = details });
        }).ToArray();
    }
}
