using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using SelfAlign.Text;

namespace SelfAlign.Inference.Remote;

/// <summary>
/// <see cref="ILanguageModel"/> on OpenAI-compatible inference servers that speak vLLM's
/// completions API (vLLM itself, or <c>selfalign serve</c>). Prompts travel as token ids of the
/// local tokenizer, so the server sees exactly the tokens a local run would:
/// <list type="bullet">
/// <item>next-token log-probabilities of the judges' label tokens: <c>max_tokens: 1</c> with
/// <c>logprob_token_ids</c>, read from the first position's <c>top_logprobs</c> (exact: normalized over
/// the whole vocabulary);</item>
/// <item>a completion's log-probability: the prompt and completion sent as one prompt with
/// <c>prompt_logprobs: 0</c>, the completion tokens' entries summed;</item>
/// <item>sampling: <c>n</c> samples per prompt from <c>seed</c>, token ids read back with
/// <c>return_tokens_as_token_ids</c>.</item>
/// </list>
/// Requests run in parallel over the <see cref="EndpointPool"/>; each answer lands in its own slot.
/// </summary>
public sealed class RemoteLanguageModel : ILanguageModel, IDisposable
{
    readonly string _model;

    /// <summary>Connects to the servers (asking the first for its model and context length).</summary>
    /// <param name="tokenizer">The served model's tokenizer (its folder's tokenizer files).</param>
    /// <param name="options">The servers and how to reach them.</param>
    /// <param name="templateVariables">Chat-template variables bound to <see cref="Template"/>.</param>
    /// <param name="handler">Replaces the HTTP stack (tests).</param>
    public RemoteLanguageModel(Tokenizer tokenizer, RemoteEngineOptions options, IReadOnlyDictionary<string, JsonElement>? templateVariables = null,
        HttpMessageHandler? handler = null)
    {
        Tokenizer = tokenizer;
        Template = ChatTemplate.For(tokenizer, templateVariables);
        Pool = new EndpointPool(options, handler);
        var models = Wait(Pool.GetAsync("v1/models"))["data"]?.AsArray() ?? throw new RemoteEngineException("the server's /v1/models lists no model");
        var card = (options.Model is null ? models.FirstOrDefault() : models.FirstOrDefault(m => (string?)m?["id"] == options.Model))
            ?? throw new RemoteEngineException($"the server does not serve the model '{options.Model}'; it serves {string.Join(", ", models.Select(m => (string?)m?["id"]))}");
        _model = (string)card["id"]!;
        MaxSequenceLength = card["max_model_len"] is JsonValue v && v.TryGetValue<int>(out int n) ? n : int.MaxValue;
    }

    /// <inheritdoc />
    public Tokenizer Tokenizer { get; }
    /// <inheritdoc />
    public int MaxSequenceLength { get; }
    /// <inheritdoc />
    public ChatTemplate Template { get; }
    /// <summary>The servers, with their counts.</summary>
    public EndpointPool Pool { get; }
    /// <summary>The model name the requests carry.</summary>
    public string Model => _model;

    /// <inheritdoc />
    public IReadOnlyList<double[]> NextTokenLogProbs(IReadOnlyList<IReadOnlyList<int>> prompts, IReadOnlyList<int> tokenIds, Action<int>? onProgress = null) =>
        ForEach(prompts.Count, async i =>
        {
            var answer = await Pool.PostAsync("v1/completions", Request(prompts[i], new JsonObject
            {
                ["max_tokens"] = 1, ["temperature"] = 0, ["logprobs"] = tokenIds.Count, ["logprob_token_ids"] = Ids(tokenIds),
            }));
            var top = answer["choices"]?[0]?["logprobs"]?["top_logprobs"]?[0]?.AsObject()
                ?? throw new RemoteEngineException("the server gave no top_logprobs for the first position");
            var byId = top.ToDictionary(p => TokenId(p.Key), p => (double)p.Value!);
            return tokenIds.Select(id => byId.TryGetValue(id, out double lp) ? lp
                : throw new RemoteEngineException($"the server did not report token {id}'s log-probability: it needs to honour logprob_token_ids (see docs/scale-out.md)")).ToArray();
        }, onProgress);

    /// <inheritdoc />
    public IReadOnlyList<double> CompletionLogProbs(IReadOnlyList<(IReadOnlyList<int> Prompt, IReadOnlyList<int> Completion)> items, Action<int>? onProgress = null) =>
        ForEach(items.Count, async i =>
        {
            var (prompt, completion) = items[i];
            if (prompt.Count == 0) throw new ArgumentException("a prompt has no tokens");
            if (completion.Count == 0) return 0.0;
            var answer = await Pool.PostAsync("v1/completions", Request([.. prompt, .. completion], new JsonObject
            {
                ["max_tokens"] = 1, ["temperature"] = 0, ["prompt_logprobs"] = 0,
            }));
            var entries = answer["choices"]?[0]?["prompt_logprobs"]?.AsArray() ?? throw new RemoteEngineException("the server gave no prompt_logprobs");
            double sum = 0;
            for (int k = 0; k < completion.Count; k++)
            {
                string key = completion[k].ToString(CultureInfo.InvariantCulture);
                sum += (double)(entries[prompt.Count + k]?[key]?["logprob"] ?? throw new RemoteEngineException($"prompt_logprobs lacks token {key} at position {prompt.Count + k}"));
            }
            return sum;
        }, onProgress);

    /// <inheritdoc />
    public IEnumerable<Completion> Generate(IReadOnlyList<GenerationRequest> requests, SamplingOptions sampling, Action<int>? onTokens = null)
    {
        sampling.Validate();
        // Chunks keep the pool busy while answers are handed on as they are ready.
        foreach (var chunk in Enumerable.Range(0, requests.Count).Chunk(Math.Max(1, Pool.Capacity * 4)))
        {
            var answers = ForEach(chunk.Length, async k => await Sample(chunk[k], requests[chunk[k]], sampling, onTokens));
            foreach (var completion in answers.SelectMany(a => a)) yield return completion;
        }
    }

    async Task<List<Completion>> Sample(int index, GenerationRequest request, SamplingOptions sampling, Action<int>? onTokens)
    {
        var fields = new JsonObject
        {
            ["n"] = request.Samples, ["seed"] = unchecked((long)request.Seed), ["temperature"] = sampling.Temperature, ["top_p"] = sampling.TopP,
            ["max_tokens"] = sampling.MaxNewTokens, ["logprobs"] = 0,
        };
        if (sampling.TopK > 0) fields["top_k"] = sampling.TopK;
        if (sampling.MinP > 0) fields["min_p"] = sampling.MinP;
        if (sampling.RepetitionPenalty != 1) fields["repetition_penalty"] = sampling.RepetitionPenalty;
        if (sampling.StopStrings.Count > 0) fields["stop"] = new JsonArray([.. sampling.StopStrings.Select(s => (JsonNode?)s)]);
        if (sampling.StopTokenIds is { } stops) fields["stop_token_ids"] = Ids(stops);
        var answer = await Pool.PostAsync("v1/completions", Request(request.PromptIds, fields));
        var completions = new List<Completion>();
        foreach (var choice in answer["choices"]?.AsArray() ?? throw new RemoteEngineException("the server gave no choices"))
        {
            int sample = (int)choice!["index"]!;
            if (request.Only is { } only && !only.Contains(sample)) continue;
            var logprobs = choice["logprobs"] ?? throw new RemoteEngineException("the server gave no logprobs for the sampled tokens");
            var ids = logprobs["tokens"]!.AsArray().Select(t => TokenId((string)t!)).ToArray();
            var lps = logprobs["token_logprobs"]!.AsArray().Select(x => (float)(double)x!).ToArray();
            onTokens?.Invoke(ids.Length);
            completions.Add(new Completion(index, sample, ids, lps, (string)choice["text"]!,
                (string?)choice["finish_reason"] == "length" ? FinishReason.Length : FinishReason.Stop));
        }
        return [.. completions.OrderBy(c => c.Sample)];
    }

    JsonObject Request(IReadOnlyList<int> prompt, JsonObject fields)
    {
        fields["model"] = _model;
        fields["prompt"] = Ids(prompt);
        fields["return_tokens_as_token_ids"] = true;
        return fields;
    }

    static JsonArray Ids(IEnumerable<int> ids) => [.. ids.Select(id => (JsonNode?)id)];

    /// <summary>A token named <c>token_id:N</c> (vLLM's <c>return_tokens_as_token_ids</c>), or a bare id.</summary>
    static int TokenId(string name) =>
        int.TryParse(name.StartsWith("token_id:", StringComparison.Ordinal) ? name[9..] : name, NumberStyles.Integer, CultureInfo.InvariantCulture, out int id)
            ? id : throw new RemoteEngineException($"the server named a token '{name}', not token_id:N: it needs return_tokens_as_token_ids");

    /// <summary>Runs <paramref name="count"/> requests over the pool, each answer in its slot; <paramref name="onProgress"/> hears each one finish.</summary>
    T[] ForEach<T>(int count, Func<int, Task<T>> work, Action<int>? onProgress = null)
    {
        var results = new T[count];
        var progressLock = new object();
        Wait(Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = Pool.Capacity }, async (i, _) =>
        {
            results[i] = await work(i);
            if (onProgress is not null) lock (progressLock) onProgress(1);
        }));
        return results;
    }

    static void Wait(Task task) => task.GetAwaiter().GetResult();

    static T Wait<T>(Task<T> task) => task.GetAwaiter().GetResult();

    /// <inheritdoc />
    public void Dispose() => Pool.Dispose();
}
