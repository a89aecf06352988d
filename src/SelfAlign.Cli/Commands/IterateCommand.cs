using System.CommandLine;
using System.Text.Json.Nodes;
using SelfAlign.Evaluation;
using SelfAlign.Inference;
using SelfAlign.Judging;
using SelfAlign.Modeling;
using SelfAlign.Pipeline;
using Spectre.Console;

namespace SelfAlign.Cli.Commands;

/// <summary><c>selfalign iterate</c>: the whole generate -> judge -> pair -> train loop from a config file, resumable.</summary>
internal static class IterateCommand
{
    public static Command Create()
    {
        var config = new Option<FileInfo>("--config") { Description = "Run configuration (JSON; see docs/training.md).", Required = true };
        var runs = new Option<DirectoryInfo>("--runs") { Description = "Folder of run folders.", DefaultValueFactory = _ => new DirectoryInfo("runs") };
        var command = new Command("iterate", "Run the self-improvement loop (M0 -> M1 -> ...) from a config file; resumes where it stopped.") { config, runs };
        command.SetAction(parse =>
        {
            CliOptions.Apply(parse);
            var cfg = IterateConfig.Load(parse.GetRequiredValue(config).FullName);
            string run = CliProgress.Run(progress => IterateStage.Run(cfg, parse.GetValue(runs)!.FullName, cfg.Eval?.Prefbench is { Length: > 0 } ? Evaluator(cfg) : null, progress));
            CliConsole.Out().MarkupLine($"report: [bold]{Markup.Escape(Path.Combine(run, "report.md"))}[/]");
            return 0;
        });
        return command;
    }

    /// <summary>The new model judges a sample of preference-benchmark pairs with the IPO yes/no prompt: its accuracy as a judge.</summary>
    static IterationEvaluator Evaluator(IterateConfig cfg) => (modelFolder, folder, progress) =>
    {
        var (items, _) = BenchData.Load(cfg.Eval!.Prefbench!, skipInvalid: false);
        items = BenchData.Sample(items, cfg.Eval.LimitPerSubset, cfg.Seed);
        var tokenizer = Text.Tokenizer.Load(modelFolder);
        using var model = ModelFolder.Load(modelFolder, new LoadOptions(cfg.Dtype == "f32" ? TorchSharp.torch.ScalarType.Float32 : TorchSharp.torch.ScalarType.BFloat16));
        var engine = new LocalLanguageModel(model, tokenizer, new LocalModelOptions { MaxBatchTokens = cfg.Judge.BatchTokens });
        var judge = new YesNoBenchJudge(new YesNoJudge(engine, new YesNoOptions(JudgePromptSet.IpoEvaluation)));
        var bar = progress.Begin("evaluating (preference bench)", items.Count);
        var run = PreferenceBench.Run(items, judge, new Categorizer(engine), categorizeAll: false, folder, n => bar.Increment(n));
        var accuracy = BenchMetrics.Compute(run.Records, TieRule.Half);
        return new JsonObject
        {
            ["prefbench_accuracy"] = Math.Round(accuracy.Overall, 4),
            ["prefbench_records"] = accuracy.Records,
            ["prefbench_ties"] = accuracy.TieCount,
        };
    };
}
