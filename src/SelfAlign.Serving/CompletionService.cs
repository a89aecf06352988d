using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using SelfAlign.Inference;
using SelfAlign.Text;

namespace SelfAlign.Serving;

/// <summary>
/// Answers completions and chat requests on the local engine, in the response shapes of vLLM's
/// OpenAI-compatible server: choices indexed prompt by prompt then sample by sample, per-token
/// log-probabilities (<c>tokens</c>, <c>token_logprobs</c>, <c>top_logprobs</c>), <c>prompt_logprobs</c>
/// keyed by token id, and usage counts.
/// </summary>
internal sealed class CompletionService(ServedModels models, ServeOptions options)
{
    /// <summary>The engine and the prompts of a /v1/completions request, each checked against the model's context.</summary>
    public (LocalLanguageModel Engine, List<List<int>> Prompts) Read(JsonElement body, CompletionRequest request)
    {
        var engine = models.Engine(request.Model);
        var prompts = CompletionRequest.Prompts(body, engine.Tokenizer, options);
        foreach (var p in prompts) CheckContext(engine, p.Count, request);
        return (engine, prompts);
    }

    static void CheckContext(LocalLanguageModel engine, int promptTokens, CompletionRequest request)
    {
        if (promptTokens + request.Sampling.MaxNewTokens > engine.MaxSequenceLength)
            throw ApiException.Invalid("prompt", $"This model's maximum context length is {engine.MaxSequenceLength} tokens. However, you requested " +
                $"{promptTokens + request.Sampling.MaxNewTokens} tokens ({promptTokens} in the messages, {request.Sampling.MaxNewTokens} in the completion).", "context_length_exceeded");
    }

    /// <summary>
    /// Whether the request is a judge's: a greedy one-token answer with alternatives and nothing about
    /// the prompt's own tokens, answered from each prompt's next-token distribution alone (which
    /// requests waiting together can share one engine call for).
    /// </summary>
    public static bool FromNextToken(CompletionRequest r) =>
        (r.LogProbTokenIds is not null || r.LogProbs > 0) && r.Sampling.Greedy && r.Samples == 1 && !r.Echo && r.PromptLogProbs is null;

    /// <summary>A /v1/completions request; <paramref name="nextToken"/>: each prompt's next-token log-probabilities over the vocabulary, when already computed.</summary>
    public JsonObject Complete(LocalLanguageModel engine, List<List<int>> prompts, CompletionRequest request, IReadOnlyList<double[]>? nextToken = null)
    {
        var choices = new JsonArray();
        int promptTokens = 0, completionTokens = 0;
        var results = Run(engine, prompts, request, nextToken);
        for (int p = 0; p < prompts.Count; p++)
        {
            promptTokens += prompts[p].Count;
            var promptLogProbs = request.PromptLogProbs is not null || request.Echo ? engine.TokenLogProbs(prompts[p]) : null;
            foreach (var c in results[p])
            {
                completionTokens += c.Completion.TokenIds.Count;
                var choice = new JsonObject
                {
                    ["index"] = p * request.Samples + c.Completion.Sample,
                    ["text"] = (request.Echo ? engine.Tokenizer.Decode(prompts[p]) : "") + c.Completion.Text,
                    ["logprobs"] = request.LogProbs is null ? null : LegacyLogProbs(engine.Tokenizer, request, c, request.Echo ? (prompts[p], promptLogProbs!) : null),
                    ["finish_reason"] = Finish(c.Completion),
                    ["stop_reason"] = null,
                };
                if (request.PromptLogProbs is not null) choice["prompt_logprobs"] = PromptLogProbs(engine.Tokenizer, prompts[p], promptLogProbs!);
                choices.Add(choice);
            }
        }
        return Response("cmpl", "text_completion", request, choices, promptTokens, completionTokens);
    }

    /// <summary>A /v1/chat/completions request: the messages rendered with the model's chat template.</summary>
    public JsonObject Chat(JsonElement body, CompletionRequest request)
    {
        var engine = models.Engine(request.Model);
        if (!body.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array || messages.GetArrayLength() == 0)
            throw ApiException.Invalid("messages", "'messages' must be a non-empty list");
        string text;
        try
        {
            text = engine.Template.Render(messages, addGenerationPrompt: true);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException)
        {
            throw ApiException.Invalid("messages", $"the chat template cannot render these messages: {e.Message}");
        }
        var prompt = engine.Tokenizer.Encode(text);
        var choices = new JsonArray();
        int completionTokens = 0;
        CheckContext(engine, prompt.Count, request);
        foreach (var c in Run(engine, [prompt], request)[0])
        {
            completionTokens += c.Completion.TokenIds.Count;
            choices.Add(new JsonObject
            {
                ["index"] = c.Completion.Sample,
                ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = c.Completion.Text },
                ["logprobs"] = request.LogProbs is null ? null : new JsonObject { ["content"] = ChatLogProbs(engine.Tokenizer, request, c) },
                ["finish_reason"] = Finish(c.Completion),
            });
        }
        return Response("chatcmpl", "chat.completion", request, choices, prompt.Count, completionTokens);
    }

    /// <summary>A sampled completion and, when asked, the log-probabilities of alternatives at its first position.</summary>
    sealed record Sampled(Completion Completion, IReadOnlyList<(int Token, double LogProb)>? First);

    List<List<Sampled>> Run(LocalLanguageModel engine, List<List<int>> prompts, CompletionRequest request, IReadOnlyList<double[]>? nextToken = null)
    {
        var stopIds = (request.Sampling.StopTokenIds ?? []).Concat(engine.Model.Config.EosTokenIds).Concat(engine.Tokenizer.Special.EosId is int e ? [e] : []).ToHashSet();
        var sampling = request.Sampling.StopTokenIds is null ? request.Sampling : request.Sampling with { StopTokenIds = [.. stopIds] };
        // Alternatives at the first generated position: the given tokens (logprob_token_ids), or the top k of the whole vocabulary.
        IReadOnlyList<int>? alternatives = request.LogProbTokenIds ?? (request.LogProbs is > 0 ? [.. Enumerable.Range(0, engine.Model.Config.VocabSize)] : null);
        if (alternatives is not null && sampling.Greedy && request.Samples == 1)
            return [.. OnePass(engine, prompts, request, sampling, stopIds, alternatives, nextToken).Select(answer => new List<Sampled> { answer })];
        var completions = engine.Generate([.. prompts.Select(p => new GenerationRequest(p, request.Samples, request.Seed))], sampling)
            .OrderBy(c => c.Request).ThenBy(c => c.Sample).ToList();
        var first = alternatives is null ? null : engine.NextTokenLogProbs([.. prompts], alternatives);
        return [.. prompts.Select((_, p) => completions.Where(c => c.Request == p).Select(c => new Sampled(c, first is null ? null : Alternatives(first[p], alternatives!, request))).ToList())];
    }

    /// <summary>
    /// A greedy one-token answer with its alternatives from one forward pass per prompt (a judge's
    /// request): the whole next-token distribution, and the token the generator's own sampler picks
    /// from it as the completion.
    /// </summary>
    static IEnumerable<Sampled> OnePass(LocalLanguageModel engine, List<List<int>> prompts, CompletionRequest request, SamplingOptions sampling, HashSet<int> stopIds,
        IReadOnlyList<int> alternatives, IReadOnlyList<double[]>? nextToken)
    {
        var full = nextToken ?? NextToken(engine, prompts);
        for (int p = 0; p < prompts.Count; p++)
        {
            // Log-probabilities are the logits shifted by one constant, so the sampler reads them as logits.
            var random = RandomStream.For(request.Seed, 0);
            var (best, logProb) = Sampler.Sample(Array.ConvertAll(full[p], x => (float)x), engine.Tokenizer.VocabSize, sampling, null, ref random);
            string text = engine.Tokenizer.Decode([best], skipSpecialTokens: true);
            int cut = sampling.StopStrings.Select(s => text.IndexOf(s, StringComparison.Ordinal)).Where(i => i >= 0).DefaultIfEmpty(-1).Min();
            var completion = stopIds.Contains(best)
                ? new Completion(p, 0, [], [], "", FinishReason.Stop)
                : new Completion(p, 0, [best], [logProb], cut >= 0 ? text[..cut] : text, cut >= 0 ? FinishReason.Stop : FinishReason.Length);
            yield return new Sampled(completion, Alternatives([.. alternatives.Select(id => full[p][id])], alternatives, request));
        }
    }

    /// <summary>Each prompt's next-token log-probabilities over the whole vocabulary.</summary>
    public static IReadOnlyList<double[]> NextToken(LocalLanguageModel engine, IReadOnlyList<IReadOnlyList<int>> prompts) =>
        engine.NextTokenLogProbs(prompts, [.. Enumerable.Range(0, engine.Model.Config.VocabSize)]);

    static List<(int, double)> Alternatives(double[] logProbs, IReadOnlyList<int> ids, CompletionRequest request)
    {
        var pairs = ids.Select((id, k) => (id, logProbs[k]));
        return request.LogProbTokenIds is not null ? [.. pairs] : [.. pairs.OrderByDescending(x => x.Item2).ThenBy(x => x.id).Take(request.LogProbs ?? 0)];
    }

    static string Finish(Completion c) => c.FinishReason == FinishReason.Length ? "length" : "stop";

    static string TokenName(Tokenizer tokenizer, int id, bool asIds) => asIds ? $"token_id:{id}" : tokenizer.Decode([id]);

    /// <summary>The completions API's logprobs object (echoed prompt tokens first, their first entry null).</summary>
    static JsonObject LegacyLogProbs(Tokenizer tokenizer, CompletionRequest request, Sampled c, (List<int> Ids, double[] LogProbs)? echo)
    {
        var tokens = new JsonArray();
        var tokenLogProbs = new JsonArray();
        var top = new JsonArray();
        var offsets = new JsonArray();
        int offset = 0;
        void Add(int id, double? logProb, JsonObject? alternatives)
        {
            string name = TokenName(tokenizer, id, request.TokensAsIds);
            tokens.Add(name);
            tokenLogProbs.Add(logProb);
            top.Add(alternatives);
            offsets.Add(offset);
            offset += tokenizer.Decode([id]).Length;
        }
        if (echo is var (ids, lps))
            for (int i = 0; i < ids.Count; i++) Add(ids[i], double.IsNaN(lps[i]) ? null : lps[i], null);
        for (int i = 0; i < c.Completion.TokenIds.Count; i++)
        {
            JsonObject? alternatives = null;
            if (i == 0 && c.First is { } first)
            {
                alternatives = [];
                foreach (var (token, lp) in first) alternatives[TokenName(tokenizer, token, request.TokensAsIds)] = lp;
            }
            else if (request.LogProbs > 0) alternatives = new JsonObject { [TokenName(tokenizer, c.Completion.TokenIds[i], request.TokensAsIds)] = c.Completion.LogProbs[i] };
            Add(c.Completion.TokenIds[i], c.Completion.LogProbs[i], alternatives);
        }
        return new JsonObject { ["text_offset"] = offsets, ["token_logprobs"] = tokenLogProbs, ["tokens"] = tokens, ["top_logprobs"] = top };
    }

    /// <summary>The chat API's per-token logprobs list.</summary>
    static JsonArray ChatLogProbs(Tokenizer tokenizer, CompletionRequest request, Sampled c) => [.. c.Completion.TokenIds.Select((id, i) =>
    {
        var top = new JsonArray();
        if (i == 0 && c.First is { } first)
            foreach (var (token, lp) in first) top.Add(new JsonObject { ["token"] = TokenName(tokenizer, token, request.TokensAsIds), ["logprob"] = lp });
        return (JsonNode?)new JsonObject
        {
            ["token"] = TokenName(tokenizer, id, request.TokensAsIds), ["logprob"] = c.Completion.LogProbs[i],
            ["bytes"] = new JsonArray([.. System.Text.Encoding.UTF8.GetBytes(tokenizer.Decode([id])).Select(b => (JsonNode?)(int)b)]), ["top_logprobs"] = top,
        };
    })];

    /// <summary>vLLM's <c>prompt_logprobs</c>: null for the first token, then each token's log-probability keyed by its id.</summary>
    static JsonArray PromptLogProbs(Tokenizer tokenizer, List<int> ids, double[] logProbs) => [.. ids.Select((id, i) => i == 0 ? null
        : (JsonNode?)new JsonObject
        {
            [id.ToString(CultureInfo.InvariantCulture)] = new JsonObject { ["logprob"] = logProbs[i], ["rank"] = null, ["decoded_token"] = tokenizer.Decode([id]) },
        })];

    JsonObject Response(string prefix, string kind, CompletionRequest request, JsonArray choices, int promptTokens, int completionTokens) => new()
    {
        ["id"] = $"{prefix}-{Guid.NewGuid():N}",
        ["object"] = kind,
        ["created"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
        ["model"] = request.Model ?? models.BaseName,
        ["choices"] = choices,
        ["usage"] = new JsonObject { ["prompt_tokens"] = promptTokens, ["completion_tokens"] = completionTokens, ["total_tokens"] = promptTokens + completionTokens },
    };
}
