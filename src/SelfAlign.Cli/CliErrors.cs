using SelfAlign.Data;
using SelfAlign.IO;
using SelfAlign.Modeling;
using SelfAlign.Text.Jinja;

namespace SelfAlign.Cli;

/// <summary>A mistake in how a command was called.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>Turns the library's expected failures into one clear line and an exit code.</summary>
internal static class CliErrors
{
    public static int Run(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e) when (e is ModelFormatException or DataFormatException or TemplateException or ResumeMismatchException
            or UsageException or ArgumentException or IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
    }
}
