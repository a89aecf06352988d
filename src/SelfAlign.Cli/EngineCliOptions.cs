using System.CommandLine;
using SelfAlign.Inference.Remote;

namespace SelfAlign.Cli;

/// <summary>The options that send a command's generation and judging to inference servers.</summary>
internal sealed class EngineCliOptions
{
    public readonly Option<string[]> Urls = new("--engine")
    {
        Description = "Run generation and judging on inference servers at this URL instead of loading the weights here; repeat for replicas. " +
            "--model then supplies the tokenizer and chat template only. The API key, if any, is read from SELFALIGN_API_KEY.",
        AllowMultipleArgumentsPerToken = false,
    };
    public readonly Option<string?> Model = new("--engine-model") { Description = "With --engine: the served model's name (default: the first the server lists)." };
    public readonly Option<string> Kind = new("--engine-kind")
    {
        Description = "With --engine: the servers' API: vllm (also selfalign serve), sglang, llamacpp or ollama (docs/scale-out.md says what each gives exactly).",
        DefaultValueFactory = _ => "vllm",
    };

    public IEnumerable<Option> All => [Urls, Model, Kind];

    /// <summary>The remote engine's options, or null without --engine.</summary>
    public RemoteEngineOptions? Parse(ParseResult parse)
    {
        if (parse.GetValue(Urls) is not { Length: > 0 } urls) return null;
        var endpoints = urls.Select(u => Uri.TryCreate(u, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" ? uri
            : throw new UsageException($"--engine '{u}': give an http(s) URL such as http://127.0.0.1:8000")).ToArray();
        var kind = RemoteEngineOptions.ParseKind(parse.GetValue(Kind)!)
            ?? throw new UsageException($"--engine-kind '{parse.GetValue(Kind)}': use vllm, sglang, llamacpp or ollama");
        return new RemoteEngineOptions { Endpoints = endpoints, Model = parse.GetValue(Model), Kind = kind };
    }
}
