namespace SelfAlign.Training;

/// <summary>How the learning rate moves after warm-up.</summary>
public enum ScheduleKind
{
    /// <summary>Half a cosine from the peak to zero.</summary>
    Cosine,
    /// <summary>A straight line from the peak to zero.</summary>
    Linear,
    /// <summary>The peak throughout.</summary>
    Constant,
}

/// <summary>
/// The learning rate of optimizer step k (0-based), as Hugging Face's
/// <c>get_{cosine,linear,constant}_schedule_with_warmup</c> compute it: a linear warm-up from 0
/// over the first <paramref name="WarmupSteps"/> steps, then the chosen decay over the rest.
/// </summary>
public sealed record LearningRateSchedule(double Peak, ScheduleKind Kind, int TotalSteps, int WarmupSteps)
{
    /// <summary>Warm-up steps for a ratio of the total, rounded up as Hugging Face's trainer does.</summary>
    public static int Warmup(double ratio, int totalSteps) => (int)Math.Ceiling(ratio * totalSteps);

    /// <summary>The rate at step <paramref name="step"/>.</summary>
    public double At(int step)
    {
        if (step < WarmupSteps) return Peak * step / Math.Max(1, WarmupSteps);
        double progress = (double)(step - WarmupSteps) / Math.Max(1, TotalSteps - WarmupSteps);
        return Kind switch
        {
            ScheduleKind.Cosine => Peak * Math.Max(0, 0.5 * (1 + Math.Cos(Math.PI * progress))),
            ScheduleKind.Linear => Peak * Math.Max(0, 1 - progress),
            _ => Peak,
        };
    }
}
