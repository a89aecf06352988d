using System.Text;
using SelfAlign.Data;
using SelfAlign.Pipeline;
using SelfAlign.Inference;
using SelfAlign.Judging;
using SelfAlign.Modeling;
using SelfAlign.Text;

namespace SelfAlign.Evaluation;

/// <summary>
/// The loop's own evaluation, from its config's eval section: the model as a judge on
/// preference-benchmark pairs (IPO's yes/no prompt); the model as a policy on verified tasks
/// (greedy and sampled success with 95% intervals, and mean length), on multiple-choice questions,
/// on IFEval, BBH, MT-Bench and head to head against a fixed model. Each writes its evidence into the eval
/// folder (items.jsonl, policy_responses.jsonl, and the ifeval/, bbh/, choice/, mtbench/ and winrate/ run folders).
/// </summary>
public sealed class LoopEvaluator(IterateConfig config, IterateConfig.EvalSection eval) : IIterationEvaluator
{
    /// <summary>The file of every policy response with its verdict.</summary>
    public const string PolicyResponses = "policy_responses.jsonl";

    IReadOnlyList<BenchItem> _items = [];
    IReadOnlyList<VerifiedTask> _tasks = [];

    /// <summary>The evaluator the config asks for, or null without an eval section.</summary>
    public static LoopEvaluator? From(IterateConfig config) => config.Eval is { } eval ? new LoopEvaluator(config, eval) : null;

    /// <inheritdoc />
    public void Check()
    {
        if (eval.Prefbench is { } files)
            try
            {
                var (items, _) = BenchData.Load(files, skipInvalid: false);
                _items = eval.LimitPerSubset > 0 ? BenchData.Sample(items, eval.LimitPerSubset, config.Seed) : items;
            }
            catch (Exception e) when (e is FileNotFoundException or ArgumentException)
            {
                throw config.Error("eval.prefbench", e.Message);
            }
        if (eval.Policy is { } policy) _tasks = VerifiedTask.ReadFile(policy.Tasks);
    }

    /// <inheritdoc />
    public IReadOnlyList<EvalMetric> Evaluate(string modelFolder, string folder, IStageProgress progress)
    {
        var metrics = new List<EvalMetric>();
        if (_items.Count > 0 || eval.Policy is not null) metrics.AddRange(InEngine(modelFolder, folder, progress));
        // The stage-based measures load their own models, after this one is released.
        foreach (string file in eval.Choice ?? [])
        {
            string name = Path.GetFileNameWithoutExtension(file);
            var overall = ChoiceStage.Run(new ChoiceJob(modelFolder, file, Path.Combine(folder, "choice", name), DType: config.ComputeType), progress)[0];
            var (normLow, normHigh) = overall.AccNormInterval;
            var (accLow, accHigh) = overall.AccInterval;
            metrics.Add(new EvalMetric($"multiple choice acc_norm, {name}", overall.AccNorm, "%", normLow, normHigh, overall.Count));
            metrics.Add(new EvalMetric($"multiple choice acc, {name}", overall.Acc, "%", accLow, accHigh, overall.Count));
        }
        if (eval.Ifeval is { } ife)
        {
            var scores = IfEvalStage.Run(new IfEvalJob(Path.Combine(folder, "ifeval"), modelFolder, Data: ife.Data, Limit: ife.Limit, MaxNewTokens: ife.MaxNewTokens,
                DType: config.ComputeType, TemplateArgs: config.TemplateArgs, LongPrompts: LongPromptPolicy.Truncate), progress);
            var (strictLow, strictHigh) = scores.Strict.PromptInterval;
            var (looseLow, looseHigh) = scores.Loose.PromptInterval;
            metrics.Add(new EvalMetric("IFEval, mean of the four accuracies", scores.Mean, "%", Samples: scores.Strict.Prompts));
            metrics.Add(new EvalMetric("IFEval prompt-level accuracy, strict", scores.Strict.PromptLevel, "%", strictLow, strictHigh, scores.Strict.Prompts));
            metrics.Add(new EvalMetric("IFEval prompt-level accuracy, loose", scores.Loose.PromptLevel, "%", looseLow, looseHigh, scores.Loose.Prompts));
            metrics.Add(new EvalMetric("IFEval instruction-level accuracy, loose", scores.Loose.InstructionLevel, "%", Samples: scores.Loose.Instructions));
        }
        if (eval.Bbh is { } bbh)
        {
            var overall = BbhStage.Run(new BbhJob(modelFolder, Path.Combine(folder, "bbh"), bbh.Data, bbh.Tasks, bbh.Limit, bbh.MaxNewTokens, bbh.ChatTemplate,
                config.ComputeType, config.TemplateArgs, LongPromptPolicy.Truncate), progress)[0];
            var (low, high) = overall.FlexibleInterval;
            metrics.Add(new EvalMetric("BBH exact match (flexible-extract)", overall.Flexible, "%", low, high, overall.Count));
            metrics.Add(new EvalMetric("BBH exact match (strict-match)", overall.Strict, "%", Samples: overall.Count));
        }
        if (eval.Mtbench is { } mt)
        {
            var scores = MtBenchStage.Run(new MtBenchJob(modelFolder, mt.Data, Path.Combine(folder, "mtbench"), mt.Judge, mt.Turns, mt.Limit, mt.MaxNewTokens,
                mt.JudgeMaxNewTokens, config.Seed, config.ComputeType, config.TemplateArgs), progress);
            var part = MtBench.Summarize(scores);
            if (part.Mean is double mean) metrics.Add(new EvalMetric("MT-Bench mean rating (1 to 10)", mean, "", Samples: part.Rated));
            metrics.Add(new EvalMetric("MT-Bench answers without a rating", part.Failures, "", Samples: scores.Count));
        }
        if (eval.Winrate is { } wr)
        {
            var h = WinRateStage.Run(new WinRateJob(modelFolder, wr.Prompts, Path.Combine(folder, "winrate"), wr.Against, Judge: wr.Judge ?? wr.Against,
                Sampling: new Text.SamplingOptions { Temperature = 0, MaxNewTokens = wr.MaxNewTokens }, Seed: config.Seed, Limit: wr.Limit,
                DType: config.ComputeType, TemplateArgs: config.TemplateArgs), progress);
            var (low, high) = h.WinRateInterval;
            string against = Path.GetFileName(wr.Against);
            metrics.Add(new EvalMetric($"win rate against {against} (ties half)", h.WinRate, "%", low, high, h.Count));
            if (!double.IsNaN(h.LengthControlled) && !h.LengthControlledSuspect) metrics.Add(new EvalMetric($"length-controlled win rate against {against}", h.LengthControlled, "%", Samples: h.Count));
            metrics.Add(new EvalMetric($"mean answer length, head to head with {against}", h.MeanLengthA, "chars", Samples: h.Count));
        }
        return metrics;
    }

    /// <summary>The measures taken with the model loaded here: the preference bench and the policy test set.</summary>
    List<EvalMetric> InEngine(string modelFolder, string folder, IStageProgress progress)
    {
        var tokenizer = Tokenizer.Load(modelFolder);
        using var model = ModelFolder.Load(modelFolder, new LoadOptions(config.ComputeType));
        var engine = new LocalLanguageModel(model, tokenizer, new LocalModelOptions { MaxBatchTokens = config.Judge.BatchTokens, TemplateVariables = config.TemplateArgs });
        var metrics = new List<EvalMetric>();
        if (_items.Count > 0)
        {
            var judge = new YesNoBenchJudge(new YesNoJudge(engine, new YesNoOptions(JudgePromptSet.IpoEvaluation)));
            var bar = progress.Begin("evaluating (preference bench)", _items.Count);
            var run = PreferenceBench.Run(_items, judge, new Categorizer(engine), categorizeAll: false, folder, n => bar.Increment(n));
            var accuracy = BenchMetrics.Compute(run.Records, TieRule.Half);
            var (low, high) = accuracy.OverallInterval;
            metrics.Add(new EvalMetric("yes/no judge accuracy on preference pairs (mean of sections)", accuracy.Overall, "%", low, high, accuracy.Records));
            metrics.Add(new EvalMetric("tied comparisons", accuracy.TieCount, "", Samples: accuracy.Records));
        }
        if (eval.Policy is { } policy)
        {
            var options = new PolicyEvalOptions(config.Sampling, policy.Samples, config.Seed);
            var bar = progress.Begin("evaluating (policy test set)", _tasks.Count * (1 + policy.Samples));
            var result = PolicyEval.Run(engine, _tasks, options, n => bar.Increment(n));
            var text = new StringBuilder();
            foreach (var row in result.Rows) text.Append(row.ToJsonString()).Append('\n');
            IO.AtomicFile.WriteAllText(Path.Combine(folder, PolicyResponses), text.ToString());
            metrics.AddRange(PolicyMetrics(result));
        }
        return metrics;
    }

    /// <summary>The report rows of a policy evaluation: success overall and per category, greedy and sampled, and mean lengths.</summary>
    public static IEnumerable<EvalMetric> PolicyMetrics(PolicyEvalResult result)
    {
        EvalMetric Rate(string name, SuccessRate r) => new(name, r.Rate, "%", r.Low, r.High, r.Responses);
        yield return Rate("policy success, greedy", result.Greedy);
        yield return Rate("policy success, sampled", result.Sampled);
        foreach (var (category, rate) in result.GreedyByCategory) yield return Rate($"policy success, greedy, {category}", rate);
        foreach (var (category, rate) in result.SampledByCategory) yield return Rate($"policy success, sampled, {category}", rate);
        yield return new EvalMetric("mean response length, greedy", result.Greedy.MeanTokens, "tokens", Samples: result.Greedy.Responses);
        yield return new EvalMetric("mean response length, sampled", result.Sampled.MeanTokens, "tokens", Samples: result.Sampled.Responses);
    }
}
