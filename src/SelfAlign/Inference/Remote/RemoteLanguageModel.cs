using System.Text.Json;
using System.Text.Json.Nodes;
using SelfAlign.Text;

namespace SelfAlign.Inference.Remote;

/// <summary>
/// <see cref="ILanguageModel"/> on inference servers: vLLM (and <c>selfalign serve</c>), SGLang,
/// llama.cpp's server or Ollama, each spoken to through its <see cref="ServerDialect"/>. Prompts
/// travel as token ids of the local tokenizer where the server takes them, so it sees exactly the
/// tokens a local run would; label log-probabilities are exact where the server reports given
/// tokens (vLLM, SGLang) and approximated from its top N elsewhere (counted in
/// <see cref="ApproximatedLabels"/>). Requests run in parallel over the <see cref="EndpointPool"/>;
/// each answer lands in its own slot, so nothing is lost or counted twice.
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
        Dialect = ServerDialect.For(options.Kind);
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

    /// <summary>How the servers are spoken to.</summary>
    public ServerDialect Dialect { get; }

    /// <summary>Label log-probabilities a top-N server did not list, approximated by the N-th (0 on an exact server).</summary>
    public long ApproximatedLabels => Interlocked.Read(ref _approximated);
    long _approximated;

    /// <inheritdoc />
    public IReadOnlyList<double[]> NextTokenLogProbs(IReadOnlyList<IReadOnlyList<int>> prompts, IReadOnlyList<int> tokenIds, Action<int>? onProgress = null) =>
        ForEach(prompts.Count, async i =>
        {
            var answer = Dialect.Labels(await Pool.PostAsync(Dialect.Path, Dialect.LabelRequest(_model, prompts[i], tokenIds, Tokenizer)), tokenIds, Tokenizer);
            Interlocked.Add(ref _approximated, answer.Approximated);
            return answer.LogProbs;
        }, onProgress);

    /// <inheritdoc />
    public IReadOnlyList<double> CompletionLogProbs(IReadOnlyList<(IReadOnlyList<int> Prompt, IReadOnlyList<int> Completion)> items, Action<int>? onProgress = null) =>
        ForEach(items.Count, async i =>
        {
            var (prompt, completion) = items[i];
            if (prompt.Count == 0) throw new ArgumentException("a prompt has no tokens");
            if (completion.Count == 0) return 0.0;
            IReadOnlyList<int> all = [.. prompt, .. completion];
            var request = Dialect.PromptRequest(_model, all) ?? throw new RemoteEngineException($"{Dialect.GetType().Name}: this server gives no log-probabilities of given tokens");
            return Dialect.PromptLogProbs(await Pool.PostAsync(Dialect.Path, request), all, prompt.Count).Sum();
        }, onProgress);

    /// <inheritdoc />
    public IEnumerable<Completion> Generate(IReadOnlyList<GenerationRequest> requests, SamplingOptions sampling, Action<int>? onTokens = null)
    {
        sampling.Validate();
        var calls = requests.SelectMany((r, i) => Dialect.SampleRequests(_model, r, sampling, Tokenizer).Select(c => (Index: i, c.Request, c.FirstSample))).ToList();
        var tokensLock = new object();
        // Chunks keep the pool busy while answers are handed on as they are ready.
        foreach (var chunk in calls.Chunk(Math.Max(1, Pool.Capacity * 4)))
        {
            var answers = ForEach(chunk.Length, async k =>
            {
                var (index, request, first) = chunk[k];
                var answer = await Pool.PostAsync(Dialect.Path, request);
                var only = requests[index].Only;
                var drawn = Dialect.Samples(answer, first, Tokenizer).Where(x => only is null || only.Contains(x.Sample))
                    .Select(x => new Completion(index, x.Sample, x.TokenIds, x.LogProbs, x.Text, x.Finish)).ToList();
                if (onTokens is not null) lock (tokensLock) onTokens(drawn.Sum(c => c.TokenIds.Count));
                return drawn;
            });
            foreach (var completion in answers.SelectMany(a => a).OrderBy(c => c.Request).ThenBy(c => c.Sample)) yield return completion;
        }
    }

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
