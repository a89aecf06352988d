namespace SelfAlign.Cli;

/// <summary>Spectre consoles bound to the current <see cref="Console.Out"/> (which tests may redirect).</summary>
internal static class CliConsole
{
    public static Spectre.Console.IAnsiConsole Out() =>
        Spectre.Console.AnsiConsole.Create(new Spectre.Console.AnsiConsoleSettings { Out = new Spectre.Console.AnsiConsoleOutput(Console.Out) });
}
