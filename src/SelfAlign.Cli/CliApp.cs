using System.CommandLine;
using SelfAlign.Cli.Commands;

namespace SelfAlign.Cli;

/// <summary>The <c>selfalign</c> command line: verbs, shared options and error reporting.</summary>
public static class CliApp
{
    /// <summary>Runs one command line and returns the process exit code (0 ok, 1 usage, 2 bad input, 3 internal error).</summary>
    public static int Run(string[] args)
    {
        var root = new RootCommand("SelfAlign: align a causal language model with itself as the judge.")
        {
            CliOptions.Threads,
            InitModelCommand.Create(),
            InfoCommand.Create(),
            TokenizeCommand.Create(),
            TemplateCommand.Create(),
            GenerateCommand.Create(),
            SelfInstructCommand.Create(),
            JudgeCommand.Create(),
            PairCommand.Create(),
            AgreementCommand.Create(),
            EvalCommand.Create(),
            EftCommand.Create(),
            SftCommand.Create(),
            TrainCommand.Create(),
            IterateCommand.Create(),
            BenchCommand.Create(),
            SelectPromptsCommand.Create(),
            CategorizeCommand.Create(),
            DemoCommand.Create(),
            ServeCommand.Create(),
        };
        var parse = root.Parse(args);
        // Failures are reported by CliErrors as one line, not as a stack trace.
        var invocation = new InvocationConfiguration { EnableDefaultExceptionHandler = false };
        return CliErrors.Run(parse, () => parse.Invoke(invocation));
    }
}
