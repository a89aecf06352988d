using System.CommandLine;
using SelfAlign.Pipeline;
using SelfAlign.Training;

namespace SelfAlign.Cli.Commands;

/// <summary><c>selfalign train</c>: preference optimization (DPO, IPO, PSO, cDPO) on pairs, against the base model as reference.</summary>
internal static class TrainCommand
{
    public static Command Create()
    {
        var o = new TrainCliOptions(preference: true);
        var loss = new Option<string>("--loss") { Description = "dpo, ipo, pso (per-pair strength) or cdpo (label smoothing).", DefaultValueFactory = _ => "dpo" };
        var beta = new Option<double>("--beta") { Description = "β of the implicit reward.", DefaultValueFactory = _ => 0.1 };
        var smoothing = new Option<double>("--label-smoothing") { Description = "cDPO's ε.", DefaultValueFactory = _ => 0.0 };
        var nll = new Option<double>("--nll-weight") { Description = "Weight of the NLL term on chosen responses (TRL's rpo_alpha).", DefaultValueFactory = _ => 0.0 };
        var lengthNormalized = new Option<bool>("--length-normalized") { Description = "Compare per-token mean log-ratios instead of sums (length-normalized DPO, PSO, cDPO)." };
        var command = new Command("train", "Preference training (DPO, IPO, PSO or cDPO; LoRA or full) on pairs against the model itself as reference. " +
            "Resumable: run the same command again to continue from the last checkpoint; changed options are refused.");
        var all = o.All.ToList();
        // The loss comes right after what to train on.
        all.InsertRange(3, [loss, beta, smoothing, nll, lengthNormalized]);
        foreach (var option in all) command.Options.Add(option);
        command.SetAction(parse =>
        {
            CliOptions.Apply(parse);
            var kind = parse.GetValue(loss) switch
            {
                "dpo" => PreferenceLossKind.Dpo,
                "ipo" => PreferenceLossKind.Ipo,
                "pso" => PreferenceLossKind.Pso,
                "cdpo" => PreferenceLossKind.Cdpo,
                var l => throw new UsageException($"--loss '{l}': use dpo, ipo, pso or cdpo"),
            };
            var options = new PreferenceLossOptions(kind, parse.GetValue(beta), parse.GetValue(smoothing), parse.GetValue(nll), parse.GetValue(lengthNormalized));
            var job = o.Job(parse, options);
            TrainCliOptions.Report(job, CliProgress.Run(progress => TrainStage.Run(job, progress)));
            return 0;
        });
        return command;
    }
}
