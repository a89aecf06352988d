using SelfAlign.Pipeline;
using Spectre.Console;

namespace SelfAlign.Cli;

/// <summary>Stage progress drawn as Spectre.Console bars with rate, elapsed time and ETA.</summary>
internal sealed class CliProgress(ProgressContext context, IAnsiConsole console) : IStageProgress
{
    sealed class Bar(ProgressTask task) : IProgressTask
    {
        public void Increment(double amount) => task.Increment(amount);
        public void Describe(string description) => task.Description = Markup.Escape(description);
    }

    public IProgressTask Begin(string description, double total) => new Bar(context.AddTask(Markup.Escape(description), maxValue: Math.Max(total, 1e-9)));

    public void Note(string message) => console.MarkupLine(Markup.Escape(message));

    /// <summary>Runs <paramref name="work"/> while drawing the bars it opens.</summary>
    public static T Run<T>(Func<IStageProgress, T> work)
    {
        var console = CliConsole.Out();
        return console.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx => work(new CliProgress(ctx, console)));
    }
}
