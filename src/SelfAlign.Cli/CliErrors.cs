using System.CommandLine;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using SelfAlign.Data;
using SelfAlign.IO;
using SelfAlign.Modeling;
using SelfAlign.Pipeline;
using SelfAlign.Text.Jinja;
using SelfAlign.Training;

namespace SelfAlign.Cli;

/// <summary>A mistake in how a command was called.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>
/// Turns failures into one line on standard error and an exit code: 1 for a command line that
/// does not parse, 2 for bad input (a file, a row, a setting, an output that may not be
/// written), 3 for an internal error, whose stack trace <c>SELFALIGN_DEBUG=1</c> shows.
/// </summary>
internal static partial class CliErrors
{
    /// <summary>Exit code of a command line that does not parse.</summary>
    public const int Usage = 1;
    /// <summary>Exit code of bad input.</summary>
    public const int BadInput = 2;
    /// <summary>Exit code of an internal error.</summary>
    public const int Internal = 3;

    /// <summary>Settings whose command-line option is not simply their name with dashes.</summary>
    static readonly Dictionary<string, string[]> Spellings = new()
    {
        ["learning_rate"] = ["--lr"],
        ["gradient_accumulation"] = ["--grad-accum"],
        ["lora.r"] = ["--lora-r"],
        ["lora.alpha"] = ["--lora-alpha"],
        ["lora.dropout"] = ["--lora-dropout"],
        ["lora.target_modules"] = ["--lora-targets"],
        ["additive_samples"] = ["--samples"],
        ["batch_size"] = ["--batch-size"],
        ["samples"] = ["-n", "--samples"],
    };

    /// <summary>Runs the parsed command; parse errors and failures become one line each.</summary>
    public static int Run(ParseResult parse, Func<int> body)
    {
        if (parse.Errors.Count > 0)
        {
            foreach (var e in parse.Errors) Console.Error.WriteLine($"error: {Translate(e.Message)}");
            var command = parse.CommandResult.Command;
            Console.Error.WriteLine($"Run 'selfalign {(command is RootCommand ? "" : command.Name + " ")}--help' for the options.");
            return Usage;
        }
        try
        {
            return body();
        }
        catch (InvalidSettingException e)
        {
            return Fail($"{Option(parse.CommandResult.Command, e.Setting)} {e.Reason}");
        }
        catch (Exception e) when (e is ModelFormatException or DataFormatException or TemplateException or ResumeMismatchException or OutputConflictException
            or TrainingDivergedException or UsageException or ArgumentException or JudgeCommandException)
        {
            return Fail(e.Message);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Fail(Describe(e));
        }
        catch (Exception e) when (Environment.GetEnvironmentVariable("SELFALIGN_DEBUG") != "1")
        {
            string what = e is ExternalException ? "libtorch failed" : e.GetType().Name;
            Console.Error.WriteLine($"error: internal error ({what}: {e.Message.Split('\n')[0].Trim()}); run again with SELFALIGN_DEBUG=1 for the details, and please report it");
            return Internal;
        }
    }

    static int Fail(string message)
    {
        Console.Error.WriteLine($"error: {message}");
        return BadInput;
    }

    /// <summary>The option of <paramref name="command"/> that sets <paramref name="setting"/>, or the setting's own name.</summary>
    static string Option(Command command, string setting)
    {
        var names = command.Options.SelectMany(o => o.Aliases.Append(o.Name)).ToHashSet();
        var candidates = Spellings.GetValueOrDefault(setting, []).Append("--" + setting.Replace('_', '-').Replace('.', '-'));
        return candidates.FirstOrDefault(names.Contains) ?? setting;
    }

    /// <summary>An I/O error in the product's words: the path, then what is wrong with it.</summary>
    public static string Describe(Exception e) => e.Message switch
    {
        _ when FileNotFound().Match(e.Message) is { Success: true } m => $"{m.Groups["path"].Value}: file not found",
        _ when PartNotFound().Match(e.Message) is { Success: true } m => $"{m.Groups["path"].Value}: a folder on this path does not exist",
        _ when Denied().Match(e.Message) is { Success: true } m => $"{m.Groups["path"].Value}: permission denied",
        _ => e.Message,
    };

    /// <summary>A parse error of System.CommandLine in the product's words.</summary>
    static string Translate(string message) => CannotParse().Match(message) is { Success: true } m
        ? $"{m.Groups["option"].Value}: '{m.Groups["value"].Value}' is not {TypeWord(m.Groups["type"].Value)}"
        : message;

    static string TypeWord(string type) => type switch
    {
        "System.Int32" or "System.Int64" => "a whole number",
        "System.UInt64" or "System.UInt32" => "a whole number >= 0",
        "System.Double" or "System.Single" => "a number",
        "System.Boolean" => "true or false",
        _ => "valid here",
    };

    [GeneratedRegex(@"^Cannot parse argument '(?<value>.*)' for option '(?<option>.*)' as expected type '(?<type>[^']*)'")]
    private static partial Regex CannotParse();

    [GeneratedRegex(@"^Could not find file '(?<path>.*)'")]
    private static partial Regex FileNotFound();

    [GeneratedRegex(@"^Could not find a part of the path '(?<path>.*)'")]
    private static partial Regex PartNotFound();

    [GeneratedRegex(@"^Access to the path '(?<path>.*)' is denied")]
    private static partial Regex Denied();
}
