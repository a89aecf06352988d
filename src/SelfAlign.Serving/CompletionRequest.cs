using System.Text.Json;
using SelfAlign.Text;

namespace SelfAlign.Serving;

/// <summary>
/// The fields of an OpenAI completions or chat request the server honours, with vLLM's extensions
/// (<c>top_k</c>, <c>min_p</c>, <c>repetition_penalty</c>, <c>seed</c>, <c>stop_token_ids</c>,
/// <c>prompt_logprobs</c>, <c>logprob_token_ids</c>, <c>return_tokens_as_token_ids</c>), checked
/// against the server's limits; a bad field is a 400 naming it.
/// </summary>
internal sealed record CompletionRequest(string? Model, SamplingOptions Sampling, int Samples, ulong Seed, int? LogProbs, int? PromptLogProbs,
    IReadOnlyList<int>? LogProbTokenIds, bool TokensAsIds, bool Echo)
{
    /// <summary>Reads the shared fields of <paramref name="body"/>; <paramref name="chat"/> reads logprobs as the chat API spells them.</summary>
    public static CompletionRequest Parse(JsonElement body, ServeOptions options, bool chat)
    {
        if (body.ValueKind != JsonValueKind.Object) throw ApiException.Invalid("body", "the request body must be a JSON object");
        if (body.TryGetProperty("stream", out var stream) && stream.ValueKind == JsonValueKind.True)
            throw ApiException.Invalid("stream", "streaming is not supported by this server; send stream: false");
        int maxTokens = Int(body, chat && body.TryGetProperty("max_completion_tokens", out _) ? "max_completion_tokens" : "max_tokens") ?? (chat ? options.MaxTokens : 16);
        if (maxTokens < 1 || maxTokens > options.MaxTokens)
            throw ApiException.Invalid("max_tokens", $"max_tokens must be between 1 and {options.MaxTokens}, got {maxTokens}");
        int n = Int(body, "n") ?? 1;
        if (n < 1 || n > options.MaxSamples) throw ApiException.Invalid("n", $"n must be between 1 and {options.MaxSamples}, got {n}");
        int topK = Int(body, "top_k") ?? 0;
        var sampling = new SamplingOptions
        {
            Temperature = Number(body, "temperature") ?? 1.0,
            TopP = Number(body, "top_p") ?? 1.0,
            TopK = topK < 0 ? 0 : topK,
            MinP = Number(body, "min_p") ?? 0,
            RepetitionPenalty = Number(body, "repetition_penalty") ?? 1.0,
            MaxNewTokens = maxTokens,
            StopStrings = Stop(body),
            StopTokenIds = Ints(body, "stop_token_ids"),
        };
        try
        {
            sampling.Validate();
        }
        catch (InvalidSettingException e)
        {
            throw ApiException.Invalid(e.Setting, $"{e.Setting} {e.Reason}");
        }
        int? logProbs = chat
            ? body.TryGetProperty("logprobs", out var lp) && lp.ValueKind == JsonValueKind.True ? Int(body, "top_logprobs") ?? 0 : null
            : Int(body, "logprobs");
        if (logProbs is < 0) throw ApiException.Invalid(chat ? "top_logprobs" : "logprobs", "must be >= 0");
        int? promptLogProbs = Int(body, "prompt_logprobs");
        if (promptLogProbs is < 0) throw ApiException.Invalid("prompt_logprobs", "must be >= 0");
        var labels = Ints(body, "logprob_token_ids");
        if (labels is not null) logProbs ??= 0;
        if (labels is not null && maxTokens != 1)
            throw ApiException.Invalid("logprob_token_ids", "this server reports the log-probabilities of given tokens at the first generated position only: send max_tokens 1");
        if (logProbs is > 0 && labels is null && maxTokens != 1)
            throw ApiException.Invalid("logprobs", "top alternatives are reported for max_tokens 1 only; send logprobs 0 for the chosen tokens");
        ulong seed = body.TryGetProperty("seed", out var s) && s.ValueKind == JsonValueKind.Number
            ? (s.TryGetInt64(out long v) ? unchecked((ulong)v) : throw ApiException.Invalid("seed", "must be an integer"))
            : (ulong)Random.Shared.NextInt64();
        string? model = body.TryGetProperty("model", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
        return new CompletionRequest(model, sampling, n, seed, logProbs, promptLogProbs, labels,
            body.TryGetProperty("return_tokens_as_token_ids", out var ids) && ids.ValueKind == JsonValueKind.True,
            !chat && body.TryGetProperty("echo", out var echo) && echo.ValueKind == JsonValueKind.True);
    }

    /// <summary>The prompts of a completions request: a string, a list of token ids, or a list of either; strings are encoded with the tokenizer's special tokens, as vLLM does.</summary>
    public static List<List<int>> Prompts(JsonElement body, Tokenizer tokenizer, ServeOptions options)
    {
        if (!body.TryGetProperty("prompt", out var prompt)) throw ApiException.Invalid("prompt", "missing 'prompt'");
        List<int> One(JsonElement p) => p.ValueKind switch
        {
            JsonValueKind.String => tokenizer.Encode(p.GetString()!, addSpecialTokens: true),
            JsonValueKind.Array when p.EnumerateArray().All(t => t.ValueKind == JsonValueKind.Number) => [.. p.EnumerateArray().Select(t => Token(t, tokenizer))],
            _ => throw ApiException.Invalid("prompt", "a prompt must be a string or a list of token ids"),
        };
        var prompts = prompt.ValueKind == JsonValueKind.Array && prompt.GetArrayLength() > 0 && prompt[0].ValueKind is JsonValueKind.String or JsonValueKind.Array
            ? prompt.EnumerateArray().Select(One).ToList()
            : [One(prompt)];
        if (prompts.Count > options.MaxPrompts) throw ApiException.Invalid("prompt", $"at most {options.MaxPrompts} prompts per request, got {prompts.Count}");
        if (prompts.Any(p => p.Count == 0)) throw ApiException.Invalid("prompt", "a prompt has no tokens");
        return prompts;
    }

    static int Token(JsonElement t, Tokenizer tokenizer) =>
        t.TryGetInt32(out int id) && id >= 0 && id < tokenizer.VocabSize ? id : throw ApiException.Invalid("prompt", $"token id {t} is out of the vocabulary (0 to {tokenizer.VocabSize - 1})");

    static int? Int(JsonElement body, string name) => !body.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null ? null
        : v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i) ? i : throw ApiException.Invalid(name, $"'{name}' must be an integer");

    static double? Number(JsonElement body, string name) => !body.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null ? null
        : v.ValueKind == JsonValueKind.Number ? v.GetDouble() : throw ApiException.Invalid(name, $"'{name}' must be a number");

    static List<int>? Ints(JsonElement body, string name) => !body.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null ? null
        : v.ValueKind == JsonValueKind.Array && v.EnumerateArray().All(x => x.ValueKind == JsonValueKind.Number && x.TryGetInt32(out _))
            ? [.. v.EnumerateArray().Select(x => x.GetInt32())] : throw ApiException.Invalid(name, $"'{name}' must be a list of integers");

    static IReadOnlyList<string> Stop(JsonElement body) => !body.TryGetProperty("stop", out var v) || v.ValueKind == JsonValueKind.Null ? []
        : v.ValueKind == JsonValueKind.String ? [v.GetString()!]
        : v.ValueKind == JsonValueKind.Array && v.EnumerateArray().All(x => x.ValueKind == JsonValueKind.String) ? [.. v.EnumerateArray().Select(x => x.GetString()!)]
        : throw ApiException.Invalid("stop", "'stop' must be a string or a list of strings");
}
