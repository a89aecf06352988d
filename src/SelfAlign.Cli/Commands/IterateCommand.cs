using System.CommandLine;
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
        var runs = new Option<DirectoryInfo>("--runs") { Description = "Folder of run folders; the run goes to <runs>/<name>.", DefaultValueFactory = _ => new DirectoryInfo("runs") };
        var overwrite = new Option<bool>("--overwrite") { Description = "Delete the run folder and start the run again from the seed model." };
        var command = new Command("iterate", "Run the self-improvement loop (M0 -> M1 -> ...) from a config file. Resumable: run the same command " +
            "again to go on where it stopped; a changed config key is accepted while no stage that uses it has started, refused after.")
        {
            config, runs, overwrite,
        };
        command.SetAction(parse =>
        {
            CliOptions.Apply(parse);
            var cfg = IterateConfig.Load(parse.GetRequiredValue(config).FullName);
            var evaluator = cfg.Eval is { } eval ? new PrefbenchEvaluator(cfg, eval) : null;
            string run = CliProgress.Run(progress => IterateStage.Run(cfg, parse.GetValue(runs)!.FullName, evaluator, progress, parse.GetValue(overwrite)));
            CliConsole.Out().MarkupLine($"report: [bold]{Markup.Escape(Path.Combine(run, "report.md"))}[/]");
            return 0;
        });
        return command;
    }

    /// <summary>The new model judges a sample of preference-benchmark pairs with the IPO yes/no prompt: its accuracy as a judge.</summary>
    sealed class PrefbenchEvaluator(IterateConfig cfg, IterateConfig.EvalSection eval) : IIterationEvaluator
    {
        IReadOnlyList<BenchItem> _items = [];

        public void Check()
        {
            try
            {
                var (items, _) = BenchData.Load(eval.Prefbench!, skipInvalid: false);
                _items = eval.LimitPerSubset > 0 ? BenchData.Sample(items, eval.LimitPerSubset, cfg.Seed) : items;
            }
            catch (Exception e) when (e is FileNotFoundException or ArgumentException)
            {
                throw cfg.Error("eval.prefbench", e.Message);
            }
        }

        public IReadOnlyList<EvalMetric> Evaluate(string modelFolder, string folder, IStageProgress progress)
        {
            var tokenizer = Text.Tokenizer.Load(modelFolder);
            using var model = ModelFolder.Load(modelFolder, new LoadOptions(cfg.ComputeType));
            var engine = new LocalLanguageModel(model, tokenizer, new LocalModelOptions { MaxBatchTokens = cfg.Judge.BatchTokens });
            var judge = new YesNoBenchJudge(new YesNoJudge(engine, new YesNoOptions(JudgePromptSet.IpoEvaluation)));
            var bar = progress.Begin("evaluating (preference bench)", _items.Count);
            var run = PreferenceBench.Run(_items, judge, new Categorizer(engine), categorizeAll: false, folder, n => bar.Increment(n));
            var accuracy = BenchMetrics.Compute(run.Records, TieRule.Half);
            var (low, high) = accuracy.OverallInterval;
            return
            [
                new EvalMetric("yes/no judge accuracy on preference pairs (mean of sections)", accuracy.Overall, "%", low, high, accuracy.Records),
                new EvalMetric("tied comparisons", accuracy.TieCount, "", Samples: accuracy.Records),
            ];
        }
    }
}
