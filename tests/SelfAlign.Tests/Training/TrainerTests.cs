using SelfAlign.Modeling;
using SelfAlign.Modeling.Lora;
using SelfAlign.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SelfAlign.Tests.Training;

/// <summary>The training loop on a tiny model: it learns, it respects the math, it resumes exactly, it stops on NaN.</summary>
public sealed class TrainerTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("selfalign-train-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static List<TokenizedPair> Pairs(int count, int vocab, double? strength = null)
    {
        var random = new Random(11);
        int[] Ids(int n) => Enumerable.Range(0, n).Select(_ => random.Next(vocab)).ToArray();
        return Enumerable.Range(0, count).Select(i =>
        {
            var prompt = Ids(6);
            return new TokenizedPair($"p{i}", new TokenizedCompletion(prompt, Ids(4 + i % 3)), new TokenizedCompletion(prompt, Ids(5)), strength);
        }).ToList();
    }

    static TrainOptions Options(int steps) => new()
    {
        LearningRate = 5e-3,
        BatchSize = 2,
        GradientAccumulation = 2,
        WarmupRatio = 0.1,
        MaxSteps = steps,
        CheckpointEvery = 2,
        Seed = 3,
        Lora = new LoraConfig(Rank: 4, Alpha: 8, Dropout: 0.1),
    };

    static (PreferenceObjective Objective, List<TokenizedPair> Pairs) Objective(CausalLm model, string dir, PreferenceLossKind kind, double? strength = null)
    {
        var pairs = Pairs(8, model.Config.VocabSize, strength);
        var reference = ReferenceLogProbs.Load(model, pairs, Path.Combine(dir, "reference.jsonl"), padId: 0);
        return (new PreferenceObjective(model, pairs, reference, new PreferenceLossOptions(kind), padId: 0), pairs);
    }

    static double MeanMargin(PreferenceObjective objective, int count)
    {
        using var noGrad = torch.no_grad();
        return objective.Compute(Enumerable.Range(0, count).ToArray()).Metrics["rewards/margins"];
    }

    [Fact]
    public void DpoTrainingRaisesTheImplicitRewardMarginOfItsPairs()
    {
        using var model = TestModels.Random(TestModels.Tiny("llama"), ScalarType.BFloat16);
        var (objective, pairs) = Objective(model, _dir, PreferenceLossKind.Dpo);
        var trainer = new Trainer(model, Options(12), _dir);
        Assert.Equal(12, trainer.Run(objective));
        double after = MeanMargin(objective, pairs.Count);
        Assert.True(after > 0.05, $"margin after training {after:F4} should be clearly positive (it starts at 0)");
        var metrics = File.ReadAllLines(Path.Combine(_dir, Trainer.MetricsFile));
        Assert.Equal(12, metrics.Length);
        Assert.Contains("\"rewards/accuracies\"", metrics[0]);
    }

    [Fact]
    public void PsoWithStrengthOneHalfLeavesTheModelUnchanged()
    {
        using var model = TestModels.Random(TestModels.Tiny("qwen2"), ScalarType.BFloat16);
        var (objective, _) = Objective(model, _dir, PreferenceLossKind.Pso, strength: 0.5);
        using var ids = torch.randint(0, model.Config.VocabSize, [2, 7], generator: new torch.Generator(1));
        using var before = model.Forward(ids);
        var trainer = new Trainer(model, Options(4), _dir);
        trainer.Run(objective);
        foreach (var module in trainer.Adapter!.Modules)
            Assert.Equal(0f, trainer.Adapter[module].B.abs().max().item<float>());
        using var after = model.Forward(ids);
        Assert.Equal(0, TestModels.MaxAbsDiff(before, after));
    }

    sealed class Killed : Exception;

    [Fact]
    public void AKilledRunResumesToBitIdenticalWeights()
    {
        using var model = TestModels.Random(TestModels.Tiny("llama"), ScalarType.BFloat16);
        string straight = Path.Combine(_dir, "straight"), resumed = Path.Combine(_dir, "resumed");
        var (objective, _) = Objective(model, _dir, PreferenceLossKind.Dpo);

        var full = new Trainer(model, Options(7), straight);
        full.Run(objective);
        var expected = full.Adapter!.Parameters().Select(p => p.Tensor.clone()).ToList();

        // Dies after step 5 (the checkpoint of step 4 is on disk), then a new trainer carries on.
        var first = new Trainer(model, Options(7), resumed) { OnStep = p => { if (p.Step == 5) throw new Killed(); } };
        Assert.Throws<Killed>(() => first.Run(objective));
        var second = new Trainer(model, Options(7), resumed);
        Assert.Equal(3, second.Run(objective));
        var actual = second.Adapter!.Parameters().Select(p => p.Tensor).ToList();
        for (int i = 0; i < expected.Count; i++) Assert.True(expected[i].eq(actual[i]).all().item<bool>(), $"tensor {i} differs after resuming");
        Assert.Equal(File.ReadAllLines(Path.Combine(straight, Trainer.MetricsFile)).Select(StripTiming),
            File.ReadAllLines(Path.Combine(resumed, Trainer.MetricsFile)).Select(StripTiming));
    }

    static string StripTiming(string line) => System.Text.RegularExpressions.Regex.Replace(line, "\"tokens_per_second\":[^,}]+", "");

    sealed class NaNAfter(ITrainingObjective inner, int calls) : ITrainingObjective
    {
        int _calls;
        public int Count => inner.Count;
        public double Weight(IReadOnlyList<int> items) => inner.Weight(items);
        public ObjectiveResult Compute(IReadOnlyList<int> items)
        {
            var result = inner.Compute(items);
            return ++_calls > calls ? result with { Loss = result.Loss.mul(double.NaN) } : result;
        }
    }

    [Fact]
    public void ANaNLossStopsTheRunAndKeepsTheLastGoodCheckpoint()
    {
        using var model = TestModels.Random(TestModels.Tiny("llama"), ScalarType.BFloat16);
        var (objective, _) = Objective(model, _dir, PreferenceLossKind.Dpo);
        var trainer = new Trainer(model, Options(6), _dir);
        var error = Assert.Throws<TrainingDivergedException>(() => trainer.Run(new NaNAfter(objective, calls: 6)));
        Assert.Contains("step 4", error.Message);
        Assert.Contains("step-000002", error.Message);
        Assert.True(Directory.Exists(Path.Combine(_dir, "checkpoints", "step-000002")));
        Assert.Equal(3, File.ReadAllLines(Path.Combine(_dir, Trainer.MetricsFile)).Length);
    }

    [Fact]
    public void SftLowersTheLossOfItsCompletions()
    {
        using var model = TestModels.Random(TestModels.Tiny("qwen3"), ScalarType.BFloat16);
        var examples = Pairs(6, model.Config.VocabSize).Select(p => p.Chosen).ToList();
        var objective = new SftObjective(model, examples, padId: 0);
        double Loss()
        {
            using var noGrad = torch.no_grad();
            return objective.Compute(Enumerable.Range(0, examples.Count).ToArray()).Loss.item<float>();
        }
        double before = Loss();
        new Trainer(model, Options(10) with { Lora = new LoraConfig(8, 16, 0) }, _dir).Run(objective);
        Assert.True(Loss() < before - 0.1, $"SFT loss {before:F3} -> {Loss():F3}");
    }
}
