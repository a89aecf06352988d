using System.Globalization;
using System.Text.Json.Nodes;
using SelfAlign.Text;

namespace SelfAlign.Inference.Remote;

/// <summary>
/// vLLM's <c>/v1/completions</c> with token-id prompts: label log-probabilities with
/// <c>logprob_token_ids</c> (exact), prompt log-probabilities with <c>prompt_logprobs</c>, samples
/// with <c>n</c> and <c>seed</c>, token ids read back with <c>return_tokens_as_token_ids</c>.
/// </summary>
public sealed class VllmDialect : ServerDialect
{
    /// <inheritdoc />
    public override string Path => "v1/completions";

    static JsonObject Request(string model, IReadOnlyList<int> prompt, JsonObject fields)
    {
        fields["model"] = model;
        fields["prompt"] = Ids(prompt);
        fields["return_tokens_as_token_ids"] = true;
        return fields;
    }

    /// <inheritdoc />
    public override JsonObject LabelRequest(string model, IReadOnlyList<int> prompt, IReadOnlyList<int> labels, Tokenizer tokenizer) =>
        Request(model, prompt, new JsonObject { ["max_tokens"] = 1, ["temperature"] = 0, ["logprobs"] = labels.Count, ["logprob_token_ids"] = Ids(labels) });

    /// <inheritdoc />
    public override LabelAnswer Labels(JsonNode answer, IReadOnlyList<int> labels, Tokenizer tokenizer)
    {
        var top = answer["choices"]?[0]?["logprobs"]?["top_logprobs"]?[0]?.AsObject()
            ?? throw new RemoteEngineException("the server gave no top_logprobs for the first position");
        var byId = top.ToDictionary(p => TokenId(JsonValue.Create(p.Key)), p => (double)p.Value!);
        return new LabelAnswer([.. labels.Select(id => byId.TryGetValue(id, out double lp) ? lp
            : throw new RemoteEngineException($"the server did not report token {id}'s log-probability: it needs to honour logprob_token_ids (see docs/scale-out.md)"))], 0);
    }

    /// <inheritdoc />
    public override JsonObject PromptRequest(string model, IReadOnlyList<int> tokens) =>
        Request(model, tokens, new JsonObject { ["max_tokens"] = 1, ["temperature"] = 0, ["prompt_logprobs"] = 0 });

    /// <inheritdoc />
    public override double[] PromptLogProbs(JsonNode answer, IReadOnlyList<int> tokens, int from)
    {
        var entries = answer["choices"]?[0]?["prompt_logprobs"]?.AsArray() ?? throw new RemoteEngineException("the server gave no prompt_logprobs");
        return [.. Enumerable.Range(from, tokens.Count - from).Select(i =>
        {
            string key = tokens[i].ToString(CultureInfo.InvariantCulture);
            return (double)(entries[i]?[key]?["logprob"] ?? throw new RemoteEngineException($"prompt_logprobs lacks token {key} at position {i}"));
        })];
    }

    /// <inheritdoc />
    public override IEnumerable<(JsonObject Request, int FirstSample)> SampleRequests(string model, GenerationRequest request, SamplingOptions sampling, Tokenizer tokenizer)
    {
        var fields = new JsonObject { ["n"] = request.Samples, ["seed"] = unchecked((long)request.Seed), ["max_tokens"] = sampling.MaxNewTokens, ["logprobs"] = 0 };
        Common(fields, sampling);
        if (sampling.RepetitionPenalty != 1) fields["repetition_penalty"] = sampling.RepetitionPenalty;
        if (sampling.StopTokenIds is { } stops) fields["stop_token_ids"] = Ids(stops);
        yield return (Request(model, request.PromptIds, fields), 0);
    }

    /// <inheritdoc />
    public override IEnumerable<(int, int[], float[], string, FinishReason)> Samples(JsonNode answer, int firstSample, Tokenizer tokenizer)
    {
        foreach (var choice in answer["choices"]?.AsArray() ?? throw new RemoteEngineException("the server gave no choices"))
        {
            var logprobs = choice!["logprobs"] ?? throw new RemoteEngineException("the server gave no logprobs for the sampled tokens");
            yield return (firstSample + (int)choice["index"]!, [.. logprobs["tokens"]!.AsArray().Select(TokenId)],
                [.. logprobs["token_logprobs"]!.AsArray().Select(x => (float)(double)x!)], (string)choice["text"]!,
                (string?)choice["finish_reason"] == "length" ? FinishReason.Length : FinishReason.Stop);
        }
    }
}
