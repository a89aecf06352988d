using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace SelfAlign.Inference.Remote;

/// <summary>
/// Loads a PEFT adapter onto every server of a pool at run time, under a model name requests then
/// use: vLLM's <c>/v1/load_lora_adapter</c> (the server started with runtime LoRA updating
/// allowed) or SGLang's <c>/load_lora_adapter</c>. Loading a name the server already holds counts
/// as done, so a resumed loop can load again.
/// </summary>
public static class ServedAdapters
{
    /// <summary>Loads <paramref name="path"/> (as the servers see it) as <paramref name="name"/> on every server; throws naming the server that refused.</summary>
    public static void Load(RemoteEngineOptions options, string name, string path, HttpMessageHandler? handler = null)
    {
        using var http = handler is null ? new HttpClient() : new HttpClient(handler, disposeHandler: false);
        http.Timeout = options.RequestTimeout;
        string? key = Environment.GetEnvironmentVariable(options.ApiKeyVariable) is { Length: > 0 } k ? k : null;
        string route = options.Kind == ServerKind.Sglang ? "load_lora_adapter" : "v1/load_lora_adapter";
        string body = new JsonObject { ["lora_name"] = name, ["lora_path"] = path }.ToJsonString();
        foreach (var endpoint in options.Endpoints)
        {
            var root = new Uri(endpoint.ToString().TrimEnd('/') is var s && s.EndsWith("/v1", StringComparison.Ordinal) ? s[..^3] + "/" : s + "/");
            string? last = null;
            for (int attempt = 0; attempt < options.MaxAttempts; attempt++)
            {
                if (attempt > 0) Thread.Sleep(options.Backoff * (1 << Math.Min(attempt - 1, 6)));
                try
                {
                    using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(root, route)) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
                    if (key is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
                    using var response = http.Send(request);
                    string text = new StreamReader(response.Content.ReadAsStream()).ReadToEnd();
                    if (response.IsSuccessStatusCode || text.Contains("already been loaded", StringComparison.OrdinalIgnoreCase)) { last = null; break; }
                    last = $"HTTP {(int)response.StatusCode}: {text}";
                    if (response.StatusCode is not (HttpStatusCode.TooManyRequests or >= HttpStatusCode.InternalServerError)) break;
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    last = e.Message;
                }
            }
            if (last is not null) throw new RemoteEngineException($"{root}{route}: loading adapter '{name}' from {path} failed: {last}");
        }
    }
}
