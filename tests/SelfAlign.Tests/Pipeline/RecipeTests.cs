using SelfAlign.Pipeline;
using SelfAlign.Training;
using Xunit;

namespace SelfAlign.Tests.Pipeline;

/// <summary>The papers' recipes in examples/recipes load and carry the values the papers give.</summary>
public sealed class RecipeTests
{
    static IterateConfig Recipe(string name) => IterateConfig.Load(Path.Combine(AppContext.BaseDirectory, "examples", "recipes", name));

    [Fact]
    public void IpoRecipe()
    {
        var c = Recipe("ipo.json");
        Assert.Equal((4, 0.7, 40), (c.Generate.Samples, c.Generate.Temperature, c.Generate.TopK));
        Assert.Equal(("yesno", "ipo-dpo", "auto"), (c.Judge.Kind, c.Judge.Prompts, c.Judge.Category));
        var dpo = c.TrainOptions(c.Train);
        Assert.Equal((5e-4, 3, 6, ScheduleKind.Cosine), (dpo.LearningRate, dpo.Epochs, dpo.BatchSize, dpo.Schedule));
        Assert.Equal((256, 128.0, 0.05), (dpo.Lora!.Rank, dpo.Lora.Alpha, dpo.Lora.Dropout));
        var sft = c.TrainOptions(c.Sft!);
        Assert.Equal((5e-4, 3, 4, true), (sft.LearningRate, sft.Epochs, sft.BatchSize, sft.Lora is null));
    }

    [Fact]
    public void SelfRewardingRecipe()
    {
        var c = Recipe("self-rewarding.json");
        Assert.Equal((4, 0.7, 0.9), (c.Generate.Samples, c.Generate.Temperature, c.Generate.TopP));
        Assert.Equal(("additive", 3), (c.Judge.Kind, c.Judge.AdditiveSamples));
        var sft = c.TrainOptions(c.Sft!);
        Assert.Equal((5.5e-6, 1.1e-6, 16), (sft.LearningRate, sft.MinLearningRate, sft.BatchSize));
        var dpo = c.TrainOptions(c.Train);
        Assert.Equal((1e-6, 1e-7, 16, 0.1), (dpo.LearningRate, dpo.MinLearningRate, dpo.BatchSize, c.LossOptions.Beta));
        Assert.Equal(2, c.Iterations);
        var prompts = c.SelfInstruct!.Options(c.Seed, 1);
        Assert.Equal((6, 2, 0.6, 0.9, 0.7), (prompts.SeedShots, prompts.GeneratedShots, prompts.EffectiveSampling.Temperature, prompts.EffectiveSampling.TopP, prompts.MaxSimilarity));
        Assert.Equal("", c.Prompts);
        Assert.Equal(["sft_sample.jsonl", "eft_sample.jsonl"], c.Sft!.Data.Select(Path.GetFileName));
        Assert.All(c.Sft.Data, d => Assert.NotEmpty(SelfAlign.Training.TrainingData.ReadSft(d)));
    }

    [Fact]
    public void PsoRecipe()
    {
        var c = Recipe("pso.json");
        Assert.Equal((5, 0.8, "pairwise"), (c.Generate.Samples, c.Generate.Temperature, c.Judge.Kind));
        Assert.Equal(PreferenceLossKind.Pso, c.LossOptions.Kind);
        var o = c.TrainOptions(c.Train);
        Assert.Equal((7e-7, 128, 1, 0.1, 2048), (o.LearningRate, o.BatchSize * o.GradientAccumulation, o.Epochs, o.WarmupRatio, o.MaxLength));
        Assert.Null(c.Sft);
        Assert.Equal(1, c.Iterations);
    }
}
