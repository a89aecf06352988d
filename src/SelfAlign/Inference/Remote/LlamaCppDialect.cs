using System.Text.Json.Nodes;
using SelfAlign.Text;

namespace SelfAlign.Inference.Remote;

/// <summary>
/// llama.cpp's server <c>/completion</c> with token-id prompts: label log-probabilities from the top
/// <c>n_probs</c> next tokens (<c>completion_probabilities[0].top_logprobs</c>, by id; a label outside
/// them is approximated), one request per sample with its own <c>seed</c>, token ids from
/// <c>return_tokens</c>. It gives no log-probabilities of prompt tokens.
/// </summary>
public sealed class LlamaCppDialect : ServerDialect
{
    /// <inheritdoc />
    public override string Path => "completion";

    /// <inheritdoc />
    public override JsonObject LabelRequest(string model, IReadOnlyList<int> prompt, IReadOnlyList<int> labels, Tokenizer tokenizer) => new()
    {
        ["prompt"] = Ids(prompt), ["n_predict"] = 1, ["temperature"] = 0, ["n_probs"] = Math.Max(TopN, labels.Count),
        ["cache_prompt"] = true, ["post_sampling_probs"] = false,
    };

    /// <inheritdoc />
    public override LabelAnswer Labels(JsonNode answer, IReadOnlyList<int> labels, Tokenizer tokenizer)
    {
        var top = answer["completion_probabilities"]?[0]?["top_logprobs"]?.AsArray() ?? throw new RemoteEngineException("the server gave no completion_probabilities");
        var byId = new Dictionary<int, double>();
        foreach (var t in top) byId.TryAdd(TokenId(t!["id"]), (double)t["logprob"]!);
        return FromTop(byId, labels);
    }

    /// <inheritdoc />
    public override JsonObject? PromptRequest(string model, IReadOnlyList<int> tokens) => null;

    /// <inheritdoc />
    public override double[] PromptLogProbs(JsonNode answer, IReadOnlyList<int> tokens, int from) =>
        throw new RemoteEngineException("llama.cpp's server gives no log-probabilities of prompt tokens");

    /// <inheritdoc />
    public override IEnumerable<(JsonObject, int)> SampleRequests(string model, GenerationRequest request, SamplingOptions sampling, Tokenizer tokenizer)
    {
        for (int k = 0; k < request.Samples; k++)
        {
            var fields = new JsonObject
            {
                ["prompt"] = Ids(request.PromptIds), ["n_predict"] = sampling.MaxNewTokens, ["seed"] = (uint)(request.Seed + (ulong)k), ["n_probs"] = 1,
                ["return_tokens"] = true, ["post_sampling_probs"] = false, ["cache_prompt"] = true, ["repeat_penalty"] = sampling.RepetitionPenalty,
            };
            Common(fields, sampling);
            yield return (fields, k);
        }
    }

    /// <inheritdoc />
    public override IEnumerable<(int, int[], float[], string, FinishReason)> Samples(JsonNode answer, int firstSample, Tokenizer tokenizer)
    {
        var probabilities = answer["completion_probabilities"]?.AsArray() ?? throw new RemoteEngineException("the server gave no completion_probabilities");
        int[] ids = answer["tokens"] is JsonArray tokens ? [.. tokens.Select(TokenId)] : [.. probabilities.Select(p => TokenId(p!["id"]))];
        yield return (firstSample, ids, [.. probabilities.Select(p => (float)(double)p!["logprob"]!)], (string)answer["content"]!,
            (string?)answer["stop_type"] == "limit" ? FinishReason.Length : FinishReason.Stop);
    }
}
