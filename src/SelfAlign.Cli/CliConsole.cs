using Spectre.Console;

namespace SelfAlign.Cli;

/// <summary>Spectre consoles bound to the current <see cref="Console.Out"/> (which tests may redirect).</summary>
internal static class CliConsole
{
    /// <summary>The console; piped into a file or another program it is wide enough that tables never wrap their cells.</summary>
    public static IAnsiConsole Out()
    {
        var output = new AnsiConsoleOutput(Console.Out);
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = output });
        if (!output.IsTerminal) console.Profile.Width = 400;
        return console;
    }

    /// <summary>True when the console is a terminal that can redraw live progress bars.</summary>
    public static bool Interactive(IAnsiConsole console) => console.Profile.Capabilities.Interactive && console.Profile.Out.IsTerminal;
}
