namespace SelfAlign.Inference.Remote;

/// <summary>Where and how <see cref="RemoteLanguageModel"/> reaches its inference servers.</summary>
public sealed record RemoteEngineOptions
{
    /// <summary>The servers' base URLs (replicas of one model; with or without a trailing /v1).</summary>
    public required IReadOnlyList<Uri> Endpoints { get; init; }
    /// <summary>Which API the servers speak.</summary>
    public ServerKind Kind { get; init; } = ServerKind.Vllm;
    /// <summary>The model name sent in requests; null: the first model the first server lists.</summary>
    public string? Model { get; init; }
    /// <summary>The environment variable holding the API key sent as a Bearer token; none when unset or empty.</summary>
    public string ApiKeyVariable { get; init; } = "SELFALIGN_API_KEY";
    /// <summary>Most requests in flight on one server.</summary>
    public int ConcurrencyPerEndpoint { get; init; } = 4;
    /// <summary>Most tries of one request (across servers) before the run stops.</summary>
    public int MaxAttempts { get; init; } = 6;
    /// <summary>How long one try may take before it counts as failed.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromMinutes(5);
    /// <summary>The first back-off after a failure; it doubles with each failure in a row, up to <see cref="MaxBackoff"/>.</summary>
    public TimeSpan Backoff { get; init; } = TimeSpan.FromMilliseconds(500);
    /// <summary>The longest back-off.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>A server kind as users write it (vllm, sglang, llamacpp, ollama), or null for another word.</summary>
    public static ServerKind? ParseKind(string name) => name switch
    {
        "vllm" => ServerKind.Vllm,
        "sglang" => ServerKind.Sglang,
        "llamacpp" => ServerKind.LlamaCpp,
        "ollama" => ServerKind.Ollama,
        _ => null,
    };

    /// <summary>What a run's manifest records of the servers: their URLs and the model asked for.</summary>
    public System.Text.Json.Nodes.JsonObject ManifestRecord() => new()
    {
        ["kind"] = Kind.ToString().ToLowerInvariant(),
        ["endpoints"] = new System.Text.Json.Nodes.JsonArray([.. Endpoints.Select(e => (System.Text.Json.Nodes.JsonNode?)e.ToString())]), ["model"] = Model,
    };

    /// <summary>Throws <see cref="InvalidSettingException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        if (Endpoints.Count == 0) throw new InvalidSettingException("engine", "needs at least one server URL");
        foreach (var e in Endpoints)
            if (!e.IsAbsoluteUri || e.Scheme is not ("http" or "https")) throw new InvalidSettingException("engine", $"'{e}' is not an http(s) URL");
        if (ConcurrencyPerEndpoint < 1) throw new InvalidSettingException("engine_concurrency", $"must be at least 1, got {ConcurrencyPerEndpoint}");
        if (MaxAttempts < 1) throw new InvalidSettingException("engine_attempts", $"must be at least 1, got {MaxAttempts}");
    }
}

/// <summary>A server refused a request for good (a 4xx other than 408 and 429), or every try failed.</summary>
public sealed class RemoteEngineException(string message) : Exception(message);
