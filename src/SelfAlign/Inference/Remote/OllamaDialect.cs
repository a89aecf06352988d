using System.Text.Json.Nodes;
using SelfAlign.Text;

namespace SelfAlign.Inference.Remote;

/// <summary>
/// Ollama's <c>/api/generate</c> in raw mode: the prompt travels as text (the token ids decoded; the
/// server tokenizes it again), label log-probabilities come from the <c>top_logprobs</c> next tokens
/// matched by their text (a label outside them is approximated), one request per sample with its
/// own <c>seed</c>, and the sampled tokens are known by text only. It gives no log-probabilities of
/// prompt tokens.
/// </summary>
public sealed class OllamaDialect : ServerDialect
{
    /// <inheritdoc />
    public override string Path => "api/generate";

    static JsonObject Request(string model, string prompt, JsonObject options, int topLogProbs) => new()
    {
        ["model"] = model, ["prompt"] = prompt, ["raw"] = true, ["stream"] = false, ["options"] = options, ["logprobs"] = true, ["top_logprobs"] = topLogProbs,
    };

    /// <inheritdoc />
    public override JsonObject LabelRequest(string model, IReadOnlyList<int> prompt, IReadOnlyList<int> labels, Tokenizer tokenizer) =>
        Request(model, tokenizer.Decode(prompt), new JsonObject { ["num_predict"] = 1, ["temperature"] = 0 }, Math.Max(TopN, labels.Count));

    /// <inheritdoc />
    public override LabelAnswer Labels(JsonNode answer, IReadOnlyList<int> labels, Tokenizer tokenizer)
    {
        var top = answer["logprobs"]?[0]?["top_logprobs"]?.AsArray() ?? throw new RemoteEngineException("the server gave no logprobs (Ollama needs logprobs: true)");
        var byText = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var t in top) byText.TryAdd((string)t!["token"]!, (double)t["logprob"]!);
        // Labels are matched by their text: ids that decode alike share one entry.
        var byId = labels.Distinct().Where(l => byText.ContainsKey(tokenizer.Decode([l]))).ToDictionary(l => l, l => byText[tokenizer.Decode([l])]);
        double floor = byText.Values.Min();
        return new LabelAnswer([.. labels.Select(l => byId.TryGetValue(l, out double lp) ? lp : floor)], labels.Count(l => !byId.ContainsKey(l)));
    }

    /// <inheritdoc />
    public override JsonObject? PromptRequest(string model, IReadOnlyList<int> tokens) => null;

    /// <inheritdoc />
    public override double[] PromptLogProbs(JsonNode answer, IReadOnlyList<int> tokens, int from) =>
        throw new RemoteEngineException("Ollama gives no log-probabilities of prompt tokens");

    /// <inheritdoc />
    public override IEnumerable<(JsonObject, int)> SampleRequests(string model, GenerationRequest request, SamplingOptions sampling, Tokenizer tokenizer)
    {
        string prompt = tokenizer.Decode(request.PromptIds);
        for (int k = 0; k < request.Samples; k++)
        {
            var options = new JsonObject { ["num_predict"] = sampling.MaxNewTokens, ["seed"] = (long)(uint)(request.Seed + (ulong)k), ["repeat_penalty"] = sampling.RepetitionPenalty };
            Common(options, sampling);
            yield return (Request(model, prompt, options, 0), k);
        }
    }

    /// <inheritdoc />
    public override IEnumerable<(int, int[], float[], string, FinishReason)> Samples(JsonNode answer, int firstSample, Tokenizer tokenizer)
    {
        string text = (string?)answer["response"] ?? throw new RemoteEngineException("the server gave no response");
        var steps = answer["logprobs"]?.AsArray() ?? [];
        // Ollama names sampled tokens by text; their ids are the local tokenizer's encoding of each.
        var ids = steps.Count > 0 ? steps.SelectMany(s => tokenizer.Encode((string)s!["token"]!)).ToArray() : [.. tokenizer.Encode(text)];
        float[] logProbs = steps.Count == ids.Length ? [.. steps.Select(s => (float)(double)s!["logprob"]!)]
            : [.. Enumerable.Repeat(ids.Length == 0 ? 0f : (float)(steps.Sum(s => (double)s!["logprob"]!) / ids.Length), ids.Length)];
        yield return (firstSample, ids, logProbs, text, (string?)answer["done_reason"] == "length" ? FinishReason.Length : FinishReason.Stop);
    }
}
