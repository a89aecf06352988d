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
    public static void Load(RemoteEngineOptions options, string name, string path)
    {
        string route = options.Kind == ServerKind.Sglang ? "load_lora_adapter" : "v1/load_lora_adapter";
        var body = new JsonObject { ["lora_name"] = name, ["lora_path"] = path };
        // One pool per server: each must take the adapter, with the pool's retries on the way.
        foreach (var endpoint in options.Endpoints)
        {
            using var server = new EndpointPool(options with { Endpoints = [endpoint] });
            try
            {
                server.PostTextAsync(route, body).GetAwaiter().GetResult();
            }
            catch (RemoteEngineException e) when (e.Message.Contains("already been loaded", StringComparison.OrdinalIgnoreCase))
            {
            }
        }
    }
}
