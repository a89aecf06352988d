using System.CommandLine;
using SelfAlign.Pipeline;

namespace SelfAlign.Cli.Commands;

/// <summary><c>selfalign sft</c>: supervised fine-tuning on prompt/completion data, loss on completion tokens only.</summary>
internal static class SftCommand
{
    public static Command Create()
    {
        var o = new TrainCliOptions(preference: false);
        var command = new Command("sft", "Supervised fine-tuning (LoRA or full) on prompt/completion data, the loss on completion tokens only. " +
            "Resumable: run the same command again to continue from the last checkpoint; changed options are refused.");
        foreach (var option in o.All) command.Options.Add(option);
        command.SetAction(parse =>
        {
            CliOptions.Apply(parse);
            var job = o.Job(parse, loss: null);
            TrainCliOptions.Report(job, CliProgress.Run(progress => TrainStage.Run(job, progress)));
            return 0;
        });
        return command;
    }
}
