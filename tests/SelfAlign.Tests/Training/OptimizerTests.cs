using SelfAlign.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SelfAlign.Tests.Training;

/// <summary>AdamW and the schedules against their closed forms.</summary>
public sealed class OptimizerTests
{
    [Fact]
    public void AdamWMatchesTheClosedFormOverTwoSteps()
    {
        var p = torch.tensor(new float[] { 1f, -2f });
        var adam = new AdamW([("p", p)], new AdamWOptions(0.9, 0.999, 1e-8, WeightDecay: 0.1));
        double[] x = [1, -2], m = [0, 0], v = [0, 0];
        double[][] grads = [[0.5, -1], [0.25, 2]];
        for (int t = 1; t <= 2; t++)
        {
            p.requires_grad_(true);
            var g = grads[t - 1];
            using (var loss = p.mul(torch.tensor(g.Select(d => (float)d).ToArray())).sum()) loss.backward();
            p.requires_grad_(false);
            adam.Step(0.01);
            for (int i = 0; i < 2; i++)
            {
                x[i] *= 1 - 0.01 * 0.1;
                m[i] = 0.9 * m[i] + 0.1 * g[i];
                v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i];
                x[i] -= 0.01 * (m[i] / (1 - Math.Pow(0.9, t))) / (Math.Sqrt(v[i] / (1 - Math.Pow(0.999, t))) + 1e-8);
            }
            p.grad!.zero_();
        }
        Assert.Equal(x[0], p[0].item<float>(), 5);
        Assert.Equal(x[1], p[1].item<float>(), 5);
        Assert.Equal(2, adam.Steps);
    }

    [Fact]
    public void SchedulesFollowHuggingFaceDefinitions()
    {
        var cosine = new LearningRateSchedule(1.0, ScheduleKind.Cosine, TotalSteps: 10, WarmupSteps: 2);
        Assert.Equal(0.0, cosine.At(0));
        Assert.Equal(0.5, cosine.At(1));
        Assert.Equal(1.0, cosine.At(2));
        Assert.Equal(0.5 * (1 + Math.Cos(Math.PI * 4 / 8)), cosine.At(6), 12);
        var linear = new LearningRateSchedule(2.0, ScheduleKind.Linear, 10, 0);
        Assert.Equal(2.0 * 0.7, linear.At(3), 12);
        Assert.Equal(3, LearningRateSchedule.Warmup(0.1, 21));
    }

    [Fact]
    public void A_floor_ends_the_decay_above_zero_as_min_lr_schedules_do()
    {
        // The Self-Rewarding DPO recipe: 1e-6 decaying to 1e-7. Hugging Face's cosine_with_min_lr:
        // factor = cosine * (1 - min / peak) + min / peak, so lr = min + (peak - min) * cosine.
        var cosine = new LearningRateSchedule(1e-6, ScheduleKind.Cosine, TotalSteps: 10, WarmupSteps: 2, Floor: 1e-7);
        Assert.Equal(0.5e-6, cosine.At(1), tolerance: 1e-18);                       // warm-up is untouched
        Assert.Equal(1e-6, cosine.At(2), tolerance: 1e-18);
        Assert.Equal(1e-7 + 0.9e-6 * 0.5 * (1 + Math.Cos(Math.PI * 4 / 8)), cosine.At(6), tolerance: 1e-18);
        Assert.Equal(1e-7, cosine.At(10), tolerance: 1e-18);
        var linear = new LearningRateSchedule(5.5e-6, ScheduleKind.Linear, 10, 0, Floor: 1.1e-6);
        Assert.Equal(1.1e-6 + 4.4e-6 * 0.7, linear.At(3), tolerance: 1e-18);
        Assert.Equal(1.1e-6, linear.At(10), tolerance: 1e-18);
        var e = Assert.Throws<InvalidSettingException>(() => new TrainOptions { LearningRate = 1e-6, MinLearningRate = 1e-6 }.Validate());
        Assert.Contains("min_learning_rate", e.Message);
    }
}
