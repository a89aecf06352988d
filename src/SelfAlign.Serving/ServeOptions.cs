namespace SelfAlign.Serving;

/// <summary>How <see cref="OpenAiServer"/> serves a model.</summary>
public sealed record ServeOptions
{
    /// <summary>The address to listen on; loopback unless the user opens it up.</summary>
    public string Host { get; init; } = "127.0.0.1";
    /// <summary>The port (0: any free one).</summary>
    public int Port { get; init; } = 8000;
    /// <summary>The name the model answers to in <c>model</c> fields; the folder name by default.</summary>
    public string? ModelName { get; init; }
    /// <summary>When set, every /v1 request must carry <c>Authorization: Bearer KEY</c>.</summary>
    public string? ApiKey { get; init; }
    /// <summary>Largest request body in bytes.</summary>
    public long MaxRequestBytes { get; init; } = 4 << 20;
    /// <summary>Most prompts in one request.</summary>
    public int MaxPrompts { get; init; } = 256;
    /// <summary>Largest <c>max_tokens</c> a request may ask for.</summary>
    public int MaxTokens { get; init; } = 4096;
    /// <summary>Largest <c>n</c> a request may ask for.</summary>
    public int MaxSamples { get; init; } = 64;
    /// <summary>How long a request may wait for and use the model before it is answered 503.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromMinutes(10);
    /// <summary>Allow <c>/v1/load_lora_adapter</c> (vLLM's VLLM_ALLOW_RUNTIME_LORA_UPDATING).</summary>
    public bool AllowAdapterLoading { get; init; } = true;
}
