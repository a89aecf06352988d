using System.Globalization;
using System.Text.Json.Nodes;
using SelfAlign.Text;

namespace SelfAlign.Inference.Remote;

/// <summary>The inference servers the remote engine speaks to.</summary>
public enum ServerKind
{
    /// <summary>vLLM's OpenAI-compatible server (and <c>selfalign serve</c>): exact label and completion log-probabilities.</summary>
    Vllm,
    /// <summary>SGLang's native <c>/generate</c>: exact label and completion log-probabilities.</summary>
    Sglang,
    /// <summary>llama.cpp's server <c>/completion</c>: the top N next tokens only; no prompt log-probabilities.</summary>
    LlamaCpp,
    /// <summary>Ollama's <c>/api/generate</c> (raw text prompts): the top N next tokens by text only; no prompt log-probabilities.</summary>
    Ollama,
}

/// <summary>A server's label log-probabilities: exact, or from its top N with the labels it did not list bounded by the N-th.</summary>
/// <param name="LogProbs">One per label.</param>
/// <param name="Approximated">How many labels were not in the server's top N.</param>
public sealed record LabelAnswer(double[] LogProbs, int Approximated);

/// <summary>How one kind of server is asked for what <see cref="ILanguageModel"/> needs, and how its answers read.</summary>
public abstract class ServerDialect
{
    /// <summary>The dialect of <paramref name="kind"/>.</summary>
    public static ServerDialect For(ServerKind kind) => kind switch
    {
        ServerKind.Vllm => new VllmDialect(),
        ServerKind.Sglang => new SglangDialect(),
        ServerKind.LlamaCpp => new LlamaCppDialect(),
        _ => new OllamaDialect(),
    };

    /// <summary>How many alternatives a top-N server is asked for, at least.</summary>
    public const int TopN = 20;

    /// <summary>The request path of every call.</summary>
    public abstract string Path { get; }

    /// <summary>A request for the next-token log-probabilities of <paramref name="labels"/> after <paramref name="prompt"/>.</summary>
    public abstract JsonObject LabelRequest(string model, IReadOnlyList<int> prompt, IReadOnlyList<int> labels, Tokenizer tokenizer);

    /// <summary>Reads the answer to <see cref="LabelRequest"/>.</summary>
    public abstract LabelAnswer Labels(JsonNode answer, IReadOnlyList<int> labels, Tokenizer tokenizer);

    /// <summary>A request for the log-probabilities of the prompt's own tokens; null where the server gives none.</summary>
    public abstract JsonObject? PromptRequest(string model, IReadOnlyList<int> tokens);

    /// <summary>The log-probability of each token of <paramref name="tokens"/> from <paramref name="from"/> on, read from the answer to <see cref="PromptRequest"/>.</summary>
    public abstract double[] PromptLogProbs(JsonNode answer, IReadOnlyList<int> tokens, int from);

    /// <summary>The requests that draw the samples of one prompt (one with n samples, or one per sample where the server has no n).</summary>
    public abstract IEnumerable<(JsonObject Request, int FirstSample)> SampleRequests(string model, GenerationRequest request, SamplingOptions sampling, Tokenizer tokenizer);

    /// <summary>The samples in an answer to a <see cref="SampleRequests"/> request, numbered from <paramref name="firstSample"/>.</summary>
    public abstract IEnumerable<(int Sample, int[] TokenIds, float[] LogProbs, string Text, FinishReason Finish)> Samples(JsonNode answer, int firstSample, Tokenizer tokenizer);

    /// <summary>A token id from a JSON number or string (vLLM's <c>token_id:N</c>).</summary>
    protected static int TokenId(JsonNode? node) => node is JsonValue v && v.TryGetValue<int>(out int id) ? id
        : int.TryParse(((string?)node ?? "").Replace("token_id:", "", StringComparison.Ordinal), NumberStyles.Integer, CultureInfo.InvariantCulture, out id) ? id
        : throw new RemoteEngineException($"the server named a token '{node}', not an id");

    /// <summary>A JSON list of token ids.</summary>
    protected static JsonArray Ids(IEnumerable<int> ids) => [.. ids.Select(id => (JsonNode?)id)];

    /// <summary>The labels' log-probabilities from a top-N list; a label missing from it gets the smallest listed (its upper bound).</summary>
    protected static LabelAnswer FromTop(IReadOnlyDictionary<int, double> top, IReadOnlyList<int> labels)
    {
        if (top.Count == 0) throw new RemoteEngineException("the server listed no top tokens");
        double floor = top.Values.Min();
        int missing = labels.Count(l => !top.ContainsKey(l));
        return new LabelAnswer([.. labels.Select(l => top.TryGetValue(l, out double lp) ? lp : floor)], missing);
    }

    /// <summary>The sampling fields every server spells alike (temperature, top_p, top_k, min_p, stop).</summary>
    protected static void Common(JsonObject fields, SamplingOptions sampling)
    {
        fields["temperature"] = sampling.Temperature;
        fields["top_p"] = sampling.TopP;
        if (sampling.TopK > 0) fields["top_k"] = sampling.TopK;
        if (sampling.MinP > 0) fields["min_p"] = sampling.MinP;
        if (sampling.StopStrings.Count > 0) fields["stop"] = new JsonArray([.. sampling.StopStrings.Select(s => (JsonNode?)s)]);
    }
}
