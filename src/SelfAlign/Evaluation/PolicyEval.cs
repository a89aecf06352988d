using System.Text.Json.Nodes;
using SelfAlign.Data;
using SelfAlign.Inference;
using SelfAlign.Text;

namespace SelfAlign.Evaluation;

/// <summary>How a policy is measured on verified tasks.</summary>
/// <param name="Sampling">The sampled decoding (the loop's temperature); greedy is always measured as well.</param>
/// <param name="Samples">Sampled responses per task.</param>
/// <param name="Seed">Seed of the sampled responses.</param>
public sealed record PolicyEvalOptions(SamplingOptions Sampling, int Samples = 4, ulong Seed = 0);

/// <summary>A success rate with its Wilson 95% interval and the mean response length.</summary>
/// <param name="Rate">Share of responses the checks accept.</param>
/// <param name="Low">Lower end of the interval.</param>
/// <param name="High">Upper end.</param>
/// <param name="Responses">Responses measured.</param>
/// <param name="MeanTokens">Mean response length in tokens.</param>
public sealed record SuccessRate(double Rate, double Low, double High, int Responses, double MeanTokens)
{
    /// <summary>The rate of <paramref name="verdicts"/> (accepted, tokens).</summary>
    public static SuccessRate Of(IReadOnlyCollection<(bool Accepted, int Tokens)> verdicts)
    {
        double rate = verdicts.Count == 0 ? 0 : verdicts.Count(v => v.Accepted) / (double)verdicts.Count;
        var (low, high) = Proportion.Wilson(rate, verdicts.Count);
        return new SuccessRate(rate, low, high, verdicts.Count, verdicts.Count == 0 ? 0 : verdicts.Average(v => v.Tokens));
    }
}

/// <summary>A policy's measured success: greedy and sampled, overall and per category, with every response.</summary>
/// <param name="Greedy">Greedy decoding, overall.</param>
/// <param name="Sampled">Sampled decoding, overall (every sample counts).</param>
/// <param name="GreedyByCategory">Greedy, per category.</param>
/// <param name="SampledByCategory">Sampled, per category.</param>
/// <param name="Rows">One row per response: task id, category, decoding, sample, text, tokens, verdict.</param>
public sealed record PolicyEvalResult(SuccessRate Greedy, SuccessRate Sampled, IReadOnlyDictionary<string, SuccessRate> GreedyByCategory,
    IReadOnlyDictionary<string, SuccessRate> SampledByCategory, IReadOnlyList<JsonObject> Rows);

/// <summary>
/// Measures a policy's true success on tasks with rule-based checks: each prompt (rendered with
/// the chat template) is answered greedily once and sampled <see cref="PolicyEvalOptions.Samples"/>
/// times, and the task's check decides each response.
/// </summary>
public static class PolicyEval
{
    /// <summary>Runs the evaluation; <paramref name="onResponses"/> hears how many responses finished.</summary>
    public static PolicyEvalResult Run(ILanguageModel model, IReadOnlyList<VerifiedTask> tasks, PolicyEvalOptions options, Action<int>? onResponses = null)
    {
        options.Sampling.Validate();
        if (options.Samples < 1) throw new InvalidSettingException("samples", $"must be at least 1, got {options.Samples}");
        var prompts = tasks.Select(t => (IReadOnlyList<int>)model.Tokenizer.Encode(model.Template.Render([new ChatMessage("user", t.Prompt)], addGenerationPrompt: true))).ToArray();
        var rows = new List<JsonObject>();
        var greedy = new List<(string Category, bool Accepted, int Tokens)>();
        var sampled = new List<(string Category, bool Accepted, int Tokens)>();
        void Decode(string name, SamplingOptions sampling, int samples, List<(string, bool, int)> into)
        {
            var requests = prompts.Select((p, i) => new GenerationRequest(p, samples, options.Seed + (ulong)i)).ToArray();
            var completions = new List<Completion>();
            foreach (var c in model.Generate(requests, sampling))
            {
                completions.Add(c);
                onResponses?.Invoke(1);
            }
            foreach (var c in completions.OrderBy(c => c.Request).ThenBy(c => c.Sample))
            {
                var task = tasks[c.Request];
                bool accepted = task.Check.Accepts(c.Text);
                into.Add((task.Category, accepted, c.TokenIds.Count));
                rows.Add(new JsonObject
                {
                    ["id"] = task.Id, ["category"] = task.Category, ["decoding"] = name, ["sample"] = c.Sample,
                    ["response"] = c.Text, ["tokens"] = c.TokenIds.Count, ["correct"] = accepted,
                });
            }
        }
        Decode("greedy", options.Sampling with { Temperature = 0 }, 1, greedy);
        Decode("sampled", options.Sampling, options.Samples, sampled);
        Dictionary<string, SuccessRate> ByCategory(List<(string Category, bool Accepted, int Tokens)> all) =>
            all.GroupBy(v => v.Category).OrderBy(g => g.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => SuccessRate.Of(g.Select(v => (v.Accepted, v.Tokens)).ToList()));
        return new PolicyEvalResult(SuccessRate.Of(greedy.Select(v => (v.Accepted, v.Tokens)).ToList()), SuccessRate.Of(sampled.Select(v => (v.Accepted, v.Tokens)).ToList()),
            ByCategory(greedy), ByCategory(sampled), rows);
    }
}
