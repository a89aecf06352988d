using System.Text.Json.Nodes;
using SelfAlign.Text;

namespace SelfAlign.Inference.Remote;

/// <summary>
/// SGLang's native <c>/generate</c> with <c>input_ids</c>: label log-probabilities with
/// <c>token_ids_logprob</c> (exact, <c>meta_info.output_token_ids_logprobs</c>), prompt
/// log-probabilities with <c>logprob_start_len</c> (<c>meta_info.input_token_logprobs</c>), samples
/// with <c>n</c> and <c>sampling_seed</c>; each log-probability entry reads <c>[logprob, token_id, text]</c>.
/// </summary>
public sealed class SglangDialect : ServerDialect
{
    /// <inheritdoc />
    public override string Path => "generate";

    /// <inheritdoc />
    public override JsonObject LabelRequest(string model, IReadOnlyList<int> prompt, IReadOnlyList<int> labels, Tokenizer tokenizer) => new()
    {
        ["input_ids"] = Ids(prompt), ["sampling_params"] = new JsonObject { ["max_new_tokens"] = 1, ["temperature"] = 0 },
        ["return_logprob"] = true, ["logprob_start_len"] = -1, ["token_ids_logprob"] = Ids(labels),
    };

    /// <inheritdoc />
    public override LabelAnswer Labels(JsonNode answer, IReadOnlyList<int> labels, Tokenizer tokenizer)
    {
        var entries = answer["meta_info"]?["output_token_ids_logprobs"]?[0]?.AsArray() ?? throw new RemoteEngineException("the server gave no output_token_ids_logprobs");
        var byId = entries.ToDictionary(e => TokenId(e![1]), e => (double)e![0]!);
        return new LabelAnswer([.. labels.Select(id => byId.TryGetValue(id, out double lp) ? lp : throw new RemoteEngineException($"the server did not report token {id}"))], 0);
    }

    /// <inheritdoc />
    public override JsonObject PromptRequest(string model, IReadOnlyList<int> tokens) => new()
    {
        ["input_ids"] = Ids(tokens), ["sampling_params"] = new JsonObject { ["max_new_tokens"] = 0, ["temperature"] = 0 },
        ["return_logprob"] = true, ["logprob_start_len"] = 0,
    };

    /// <inheritdoc />
    public override double[] PromptLogProbs(JsonNode answer, IReadOnlyList<int> tokens, int from)
    {
        var entries = answer["meta_info"]?["input_token_logprobs"]?.AsArray() ?? throw new RemoteEngineException("the server gave no input_token_logprobs");
        return [.. Enumerable.Range(from, tokens.Count - from).Select(i => TokenId(entries[i]![1]) == tokens[i]
            ? (double)entries[i]![0]! : throw new RemoteEngineException($"input_token_logprobs does not line up with the prompt at position {i}"))];
    }

    /// <inheritdoc />
    public override IEnumerable<(JsonObject, int)> SampleRequests(string model, GenerationRequest request, SamplingOptions sampling, Tokenizer tokenizer)
    {
        var parameters = new JsonObject { ["n"] = request.Samples, ["max_new_tokens"] = sampling.MaxNewTokens, ["sampling_seed"] = unchecked((long)request.Seed) };
        Common(parameters, sampling);
        if (sampling.RepetitionPenalty != 1) parameters["repetition_penalty"] = sampling.RepetitionPenalty;
        if (sampling.StopTokenIds is { } stops) parameters["stop_token_ids"] = Ids(stops);
        yield return (new JsonObject { ["input_ids"] = Ids(request.PromptIds), ["sampling_params"] = parameters, ["return_logprob"] = true }, 0);
    }

    /// <inheritdoc />
    public override IEnumerable<(int, int[], float[], string, FinishReason)> Samples(JsonNode answer, int firstSample, Tokenizer tokenizer)
    {
        var results = answer is JsonArray list ? list : new JsonArray(answer.DeepClone());
        for (int k = 0; k < results.Count; k++)
        {
            var meta = results[k]!["meta_info"] ?? throw new RemoteEngineException("the server gave no meta_info");
            var entries = meta["output_token_logprobs"]?.AsArray() ?? throw new RemoteEngineException("the server gave no output_token_logprobs");
            yield return (firstSample + k, [.. entries.Select(e => TokenId(e![1]))], [.. entries.Select(e => (float)(double)e![0]!)], (string)results[k]!["text"]!,
                (string?)meta["finish_reason"]?["type"] == "length" ? FinishReason.Length : FinishReason.Stop);
        }
    }
}
