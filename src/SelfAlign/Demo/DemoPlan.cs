namespace SelfAlign.Demo;

/// <summary>One way of running the loop that the demo compares: a judge and a preference loss.</summary>
/// <param name="Name">The run's name (its folder).</param>
/// <param name="Judge">The iterate config's judge kind.</param>
/// <param name="Loss">The preference loss.</param>
/// <param name="Label">How the report names it.</param>
public sealed record DemoMethod(string Name, string Judge, string Loss, string Label);

/// <summary>The demo's sizes and recipe: the full run, or the quick one the test suite runs.</summary>
/// <param name="Seed">The seed model's spec.</param>
/// <param name="Iterations">Loop iterations per method.</param>
/// <param name="PromptsPerIteration">Loop prompts per iteration.</param>
/// <param name="Samples">Candidates per prompt.</param>
/// <param name="PolicySamples">Sampled responses per test task.</param>
/// <param name="AdditiveSamples">Sampled judgments per response for the additive judge.</param>
/// <param name="LearningRate">Preference training's learning rate.</param>
/// <param name="Epochs">Preference training's passes over the pairs.</param>
public sealed record DemoPlan(SeedModelSpec Seed, int Iterations, int PromptsPerIteration, int Samples, int PolicySamples, int AdditiveSamples,
    double LearningRate, int Epochs)
{
    /// <summary>The methods compared, the papers' rows in miniature: IPO's yes/no judge, Self-Rewarding's additive judge, PSO, and the verifier as oracle.</summary>
    public static IReadOnlyList<DemoMethod> Methods { get; } =
    [
        new("yesno-dpo", "yesno", "dpo", "yes/no judge + DPO (IPO)"),
        new("additive-dpo", "additive", "dpo", "additive judge + DPO (Self-Rewarding)"),
        new("pairwise-pso", "pairwise", "pso", "pairwise judge + PSO"),
        new("verifier-dpo", "verifier", "dpo", "verifier (oracle) + DPO"),
    ];

    /// <summary>The plan for <paramref name="quick"/> and <paramref name="seed"/>.</summary>
    public static DemoPlan For(bool quick, int seed) => quick
        ? new DemoPlan(new SeedModelSpec(new WorldSizes(PolicyExamples: 2500, PolicyAccuracy: 0.75, YesNoExamples: 2500, AdditiveExamples: 100, PairwiseExamples: 150,
                CategoryExamples: 150, BenchPerCategory: 25, LoopPrompts: 192, TestPerCategory: 25), seed, VocabSize: 1024, Hidden: 96, Layers: 3, Heads: 4,
                Epochs: 2, LearningRate: 3e-3, BatchSize: 32), Iterations: 2, PromptsPerIteration: 48, Samples: 4, PolicySamples: 2, AdditiveSamples: 1,
            LearningRate: 5e-4, Epochs: 2)
        : new DemoPlan(new SeedModelSpec(new WorldSizes(PolicyExamples: 24000, PolicyAccuracy: 0.75, YesNoExamples: 5000, AdditiveExamples: 150, PairwiseExamples: 200,
                CategoryExamples: 200, BenchPerCategory: 50, LoopPrompts: 400, TestPerCategory: 50), seed, VocabSize: 1024, Hidden: 128, Layers: 4, Heads: 4,
                Epochs: 4, LearningRate: 3e-3, BatchSize: 32), Iterations: 2, PromptsPerIteration: 200, Samples: 8, PolicySamples: 8, AdditiveSamples: 1,
            LearningRate: 5e-4, Epochs: 2);
}
