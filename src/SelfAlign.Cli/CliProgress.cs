using System.Diagnostics;
using SelfAlign.Pipeline;
using Spectre.Console;

namespace SelfAlign.Cli;

/// <summary>
/// Stage progress: live Spectre.Console bars with rate, elapsed time and ETA in a terminal; in a
/// log (output piped to a file) one line per bar every few seconds, with the same figures.
/// </summary>
internal static class CliProgress
{
    /// <summary>Runs <paramref name="work"/> while showing the bars it opens.</summary>
    public static T Run<T>(Func<IStageProgress, T> work)
    {
        var console = CliConsole.Out();
        if (!CliConsole.Interactive(console)) return work(new LogProgress(console));
        return console.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx => work(new LiveProgress(ctx, console)));
    }

    sealed class LiveProgress(ProgressContext context, IAnsiConsole console) : IStageProgress
    {
        sealed class Bar(ProgressTask task) : IProgressTask
        {
            public void Increment(double amount) => task.Increment(amount);
            public void Describe(string description) => task.Description = Markup.Escape(description);
        }

        public IProgressTask Begin(string description, double total) => new Bar(context.AddTask(Markup.Escape(description), maxValue: Math.Max(total, 1e-9)));

        public void Note(string message) => console.MarkupLine(Markup.Escape(message));
    }

    /// <summary>Progress as log lines: at the start, every <see cref="Interval"/> and at the end of each bar.</summary>
    sealed class LogProgress(IAnsiConsole console) : IStageProgress
    {
        static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

        sealed class Line(IAnsiConsole console, string description, double total) : IProgressTask
        {
            readonly Stopwatch _clock = Stopwatch.StartNew();
            TimeSpan _printed = -Interval;
            double _done;
            string _description = description;

            bool _ended;

            public void Increment(double amount)
            {
                _done += amount;
                if (_ended) return;
                _ended = _done >= total;
                if (_ended || _clock.Elapsed - _printed >= Interval) Print();
            }

            public void Describe(string description) => _description = description;

            public void Print()
            {
                _printed = _clock.Elapsed;
                double fraction = total > 0 ? Math.Min(1, _done / total) : 1;
                string eta = fraction is > 0 and < 1 ? $", ETA {Clock(_clock.Elapsed * ((1 - fraction) / fraction))}" : "";
                console.WriteLine($"{_description}: {100 * fraction,3:F0}% ({Math.Min(_done, total):N0}/{total:N0}), elapsed {Clock(_clock.Elapsed)}{eta}");
            }

            static string Clock(TimeSpan t) => t.TotalHours >= 1 ? t.ToString(@"h\:mm\:ss") : t.ToString(@"m\:ss");
        }

        public IProgressTask Begin(string description, double total)
        {
            var line = new Line(console, description, total);
            line.Print();
            return line;
        }

        public void Note(string message) => console.WriteLine(message);
    }
}
