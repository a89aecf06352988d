namespace SelfAlign.Pipeline;

/// <summary>One bar of progress: a stage reports how far it got.</summary>
public interface IProgressTask
{
    /// <summary>Adds <paramref name="amount"/> to the done count.</summary>
    void Increment(double amount);
    /// <summary>Replaces the bar's label (rates go here).</summary>
    void Describe(string description);
}

/// <summary>Where stages open progress bars; the CLI draws them, tests and libraries can ignore them.</summary>
public interface IStageProgress
{
    /// <summary>Opens a bar for <paramref name="total"/> units of work.</summary>
    IProgressTask Begin(string description, double total);
    /// <summary>A line of news (resumes, skipped stages, where outputs went).</summary>
    void Note(string message);
}

/// <summary>Progress that goes nowhere.</summary>
public sealed class SilentProgress : IStageProgress, IProgressTask
{
    /// <summary>The shared instance.</summary>
    public static SilentProgress Instance { get; } = new();
    /// <inheritdoc />
    public IProgressTask Begin(string description, double total) => this;
    /// <inheritdoc />
    public void Note(string message) { }
    /// <inheritdoc />
    public void Increment(double amount) { }
    /// <inheritdoc />
    public void Describe(string description) { }
}
