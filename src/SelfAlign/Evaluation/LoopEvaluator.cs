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
/// preference-benchmark pairs (IPO's yes/no prompt), and the model as a policy on verified tasks
/// (greedy and sampled success with 95% intervals, and mean length). Each writes its evidence
/// (items.jsonl, policy_responses.jsonl) into the eval folder.
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
