namespace SelfAlign.Training;

/// <summary>How the learning rate moves after warm-up.</summary>
public enum ScheduleKind
{
    /// <summary>Half a cosine from the peak to the floor.</summary>
    Cosine,
    /// <summary>A straight line from the peak to the floor.</summary>
    Linear,
    /// <summary>The peak throughout.</summary>
    Constant,
}

/// <summary>
/// The learning rate of optimizer step k (0-based), as Hugging Face's
/// <c>get_{cosine,linear,constant}_schedule_with_warmup</c> compute it: a linear warm-up from 0
/// over the first <paramref name="WarmupSteps"/> steps, then the chosen decay over the rest. With a
/// <paramref name="Floor"/> the decay ends there instead of at zero, as
/// <c>get_cosine_with_min_lr_schedule_with_warmup</c> does (the Self-Rewarding recipe decays SFT to
/// 1.1e-6 and DPO to 1e-7).
/// </summary>
public sealed record LearningRateSchedule(double Peak, ScheduleKind Kind, int TotalSteps, int WarmupSteps, double Floor = 0)
{
    /// <summary>Warm-up steps for a ratio of the total, rounded up as Hugging Face's trainer does.</summary>
    public static int Warmup(double ratio, int totalSteps) => (int)Math.Ceiling(ratio * totalSteps);

    /// <summary>The rate at step <paramref name="step"/>.</summary>
    public double At(int step)
    {
        if (step < WarmupSteps) return Peak * step / Math.Max(1, WarmupSteps);
        double progress = (double)(step - WarmupSteps) / Math.Max(1, TotalSteps - WarmupSteps);
        double decay = Kind switch
        {
            ScheduleKind.Cosine => Math.Max(0, 0.5 * (1 + Math.Cos(Math.PI * progress))),
            ScheduleKind.Linear => Math.Max(0, 1 - progress),
            _ => 1,
        };
        return Floor + (Peak - Floor) * decay;
    }
}
