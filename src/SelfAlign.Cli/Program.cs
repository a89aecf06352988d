using System.CommandLine;
using SelfAlign.Cli;
using SelfAlign.Cli.Commands;

var root = new RootCommand("SelfAlign: align a causal language model with itself as the judge.")
{
    CliOptions.Threads,
    InitModelCommand.Create(),
    InfoCommand.Create(),
};
return CliErrors.Run(() => root.Parse(args).Invoke());
