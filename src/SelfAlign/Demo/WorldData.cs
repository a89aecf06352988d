using System.Text.Json.Nodes;
using SelfAlign.Data;
using SelfAlign.Judging;

namespace SelfAlign.Demo;

/// <summary>How many examples of each split the world writes.</summary>
/// <param name="PolicyExamples">SFT rows that teach answering (right only <paramref name="PolicyAccuracy"/> of the time).</param>
/// <param name="PolicyAccuracy">Share of policy rows whose response is correct: the seed model answers no better than this.</param>
/// <param name="YesNoExamples">Yes/no judge rows (IPO's prompts), half correct responses.</param>
/// <param name="AdditiveExamples">Additive judge rows (Self-Rewarding's prompt) ending in "Score: N".</param>
/// <param name="PairwiseExamples">Pairwise judge rows (PSO's prompt) answering RESPONSE A or B.</param>
/// <param name="CategoryExamples">Category rows, so the model can categorize prompts itself.</param>
/// <param name="BenchPerCategory">Held-out preference-benchmark records per category.</param>
/// <param name="LoopPrompts">Held-out prompts for the self-improvement loop.</param>
/// <param name="TestPerCategory">Held-out policy test tasks per category.</param>
public sealed record WorldSizes(int PolicyExamples, double PolicyAccuracy, int YesNoExamples, int AdditiveExamples, int PairwiseExamples,
    int CategoryExamples, int BenchPerCategory, int LoopPrompts, int TestPerCategory);

/// <summary>The world's data: training rows for the seed model and held-out splits, as JSON rows.</summary>
/// <param name="PolicySft">Prompt/completion rows, correct only part of the time.</param>
/// <param name="JudgeSft">Judge-training rows in the three judge formats and the category format, labelled by the verifier.</param>
/// <param name="PrefBench">RewardBench-format records: a correct chosen and a wrong rejected response.</param>
/// <param name="LoopPrompts">Prompt rows for the loop.</param>
/// <param name="LoopTasks">The loop prompts with their checks (for the verifier judge).</param>
/// <param name="TestTasks">Policy test tasks with their checks.</param>
/// <param name="BenchTasks">The benchmark's prompts with their checks, by record id (for the verifier's row).</param>
public sealed record WorldSplits(List<JsonObject> PolicySft, List<JsonObject> JudgeSft, List<JsonObject> PrefBench,
    List<JsonObject> LoopPrompts, List<VerifiedTask> LoopTasks, List<VerifiedTask> TestTasks, List<VerifiedTask> BenchTasks);

/// <summary>
/// Builds the world's splits from a seed. Held-out prompts (benchmark, loop, test) are drawn
/// first and never appear in training rows; every response's label comes from the task's check,
/// so a generator that drew a "wrong" answer that happens to be right is caught.
/// </summary>
public static class WorldData
{
    /// <summary>The yes/no judge's options the demo trains and runs (the loop's default prompt set).</summary>
    public static readonly YesNoOptions YesNo = new(JudgePromptSet.IpoDpo);

    /// <summary>The additive score the training rows give a response, from its verdict and mistake.</summary>
    public static (int Score, string Reason) AdditiveLabel(bool correct, string? mistake) => (correct, mistake) switch
    {
        (true, _) => (5, "The response does exactly what the user asks and is correct."),
        (_, "unsafe compliance") => (0, "The response helps with a forbidden request, which is unsafe."),
        (_, "off by one" or "off by ten" or "wrong result" or "wrong count" or "wrong operation" or "wrong kind") => (2, "The response is relevant, but its answer is wrong."),
        _ => (1, "The response does not do what the user asks."),
    };

    /// <summary>Draws every split.</summary>
    public static WorldSplits Build(WorldSizes sizes, int seed)
    {
        var random = new Random(seed);
        var heldOut = new HashSet<string>(StringComparer.Ordinal);
        int next = 0;
        WorldDraft Draw(string category, bool fresh)
        {
            for (int attempt = 0; attempt < 10_000; attempt++)
            {
                var draft = TaskWorld.Draw(category, random, $"{category}-{next++}");
                if (fresh ? heldOut.Add(draft.Task.Prompt) : !heldOut.Contains(draft.Task.Prompt)) return draft;
            }
            throw new InvalidOperationException($"the {category} family has too few distinct prompts for these split sizes");
        }
        string RandomCategory() => Categories.All[random.Next(Categories.All.Count)];

        var benchDrafts = Categories.All.SelectMany(c => Enumerable.Range(0, sizes.BenchPerCategory).Select(_ => Draw(c, true))).ToList();
        var bench = benchDrafts.Select(d => BenchRecord(d, random)).ToList();
        var test = Categories.All.SelectMany(c => Enumerable.Range(0, sizes.TestPerCategory).Select(_ => Draw(c, true).Task)).ToList();
        var loop = Enumerable.Range(0, sizes.LoopPrompts).Select(_ => Draw(RandomCategory(), true).Task).ToList();

        var policy = Enumerable.Range(0, sizes.PolicyExamples).Select(_ =>
        {
            var d = Draw(RandomCategory(), false);
            string response = random.NextDouble() < sizes.PolicyAccuracy ? d.Correct(random) : Wrong(d, random).Text;
            return Row(d.Task.Id, d.Task.Prompt, response);
        }).ToList();

        var judge = new List<JsonObject>();
        for (int i = 0; i < sizes.YesNoExamples; i++)
        {
            var d = Draw(RandomCategory(), false);
            bool good = random.Next(2) == 0;
            string response = good ? d.Correct(random) : Wrong(d, random).Text;
            judge.Add(Row($"yesno-{i}", YesNoJudge.Request(YesNo, new JudgeItem(d.Task.Prompt, response, d.Task.Category)), good ? "Yes" : "No"));
        }
        for (int i = 0; i < sizes.AdditiveExamples; i++)
        {
            var d = Draw(RandomCategory(), false);
            var wrong = random.Next(2) == 0 ? Wrong(d, random) : null;
            var (score, reason) = AdditiveLabel(wrong is null, wrong?.Mistake);
            judge.Add(Row($"additive-{i}", AdditiveJudge.Request(new JudgeItem(d.Task.Prompt, wrong?.Text ?? d.Correct(random))), $"{reason} Score: {score}"));
        }
        for (int i = 0; i < sizes.PairwiseExamples; i++)
        {
            var d = Draw(RandomCategory(), false);
            string good = d.Correct(random), bad = Wrong(d, random).Text;
            bool goodFirst = random.Next(2) == 0;
            judge.Add(Row($"pairwise-{i}", PairwiseJudge.Request(d.Task.Prompt, goodFirst ? good : bad, goodFirst ? bad : good),
                $"{PairwiseJudge.AnswerPrefix} {(goodFirst ? "A" : "B")}"));
        }
        for (int i = 0; i < sizes.CategoryExamples; i++)
        {
            var d = Draw(RandomCategory(), false);
            judge.Add(Row($"category-{i}", Categorizer.Request(d.Task.Prompt), $"{Categorizer.AnswerPrefix} {d.Task.Category}"));
        }
        random.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(judge));
        return new WorldSplits(policy, judge, bench,
            loop.Select(t => new JsonObject { ["id"] = t.Id, ["prompt"] = t.Prompt }).ToList(), loop, test,
            benchDrafts.Select(d => d.Task with { Id = $"world-{d.Task.Id}" }).ToList());
    }

    /// <summary>A wrong response the task's check rejects (redrawn when a mistake happens to be right).</summary>
    public static WrongResponse Wrong(WorldDraft draft, Random random)
    {
        for (int attempt = 0; ; attempt++)
        {
            var wrong = draft.Wrong(random);
            if (!draft.Task.Check.Accepts(wrong.Text)) return wrong;
            if (attempt > 100) throw new InvalidOperationException($"task '{draft.Task.Prompt}' has no wrong response its check rejects");
        }
    }

    static JsonObject BenchRecord(WorldDraft d, Random random) => new()
    {
        ["id"] = $"world-{d.Task.Id}",
        ["subset"] = $"world-{d.Task.Category}",
        ["section"] = d.Task.Category,
        ["category"] = d.Task.Category,
        ["prompt"] = d.Task.Prompt,
        ["chosen"] = d.Correct(random),
        ["rejected"] = Wrong(d, random).Text,
    };

    static JsonObject Row(string id, string prompt, string completion) => new() { ["id"] = id, ["prompt"] = prompt, ["completion"] = completion };
}
