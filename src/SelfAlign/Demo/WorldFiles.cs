using System.Text;
using System.Text.Json.Nodes;
using SelfAlign.IO;

namespace SelfAlign.Demo;

/// <summary>The files of the world's splits in a folder, by the names the demo reads.</summary>
public static class WorldFiles
{
    /// <summary>The seed model's SFT rows: policy and judge rows, shuffled together.</summary>
    public const string SeedSft = "seed_sft.jsonl";
    /// <summary>The judge rows alone (mixed back into preference training).</summary>
    public const string JudgeSft = "judge_sft.jsonl";
    /// <summary>The held-out preference benchmark (RewardBench format).</summary>
    public const string PrefBench = "prefbench.jsonl";
    /// <summary>The benchmark's prompts with their checks.</summary>
    public const string BenchTasks = "prefbench_tasks.jsonl";
    /// <summary>The loop's prompt pool.</summary>
    public const string LoopPrompts = "loop_prompts.jsonl";
    /// <summary>The loop's prompts with their checks.</summary>
    public const string LoopTasks = "loop_tasks.jsonl";
    /// <summary>The held-out policy test tasks with their checks.</summary>
    public const string TestTasks = "test_tasks.jsonl";

    /// <summary>Writes every split into <paramref name="folder"/>, each file atomically.</summary>
    public static void Write(string folder, WorldSplits splits)
    {
        Directory.CreateDirectory(folder);
        var seed = splits.PolicySft.Concat(splits.JudgeSft).ToList();
        new Random(seed.Count).Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(seed));
        Lines(Path.Combine(folder, SeedSft), seed);
        Lines(Path.Combine(folder, JudgeSft), splits.JudgeSft);
        Lines(Path.Combine(folder, PrefBench), splits.PrefBench);
        Lines(Path.Combine(folder, LoopPrompts), splits.LoopPrompts);
        Lines(Path.Combine(folder, LoopTasks), splits.LoopTasks.Select(t => t.ToJson()));
        Lines(Path.Combine(folder, TestTasks), splits.TestTasks.Select(t => t.ToJson()));
        Lines(Path.Combine(folder, BenchTasks), splits.BenchTasks.Select(t => t.ToJson()));
    }

    static void Lines(string path, IEnumerable<JsonObject> rows)
    {
        var text = new StringBuilder();
        foreach (var row in rows) text.Append(row.ToJsonString()).Append('\n');
        AtomicFile.WriteAllText(path, text.ToString());
    }
}
