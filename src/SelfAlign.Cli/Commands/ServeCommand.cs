using System.CommandLine;
using SelfAlign.Modeling;
using SelfAlign.Serving;
using Spectre.Console;

namespace SelfAlign.Cli.Commands;

/// <summary><c>selfalign serve</c>: an OpenAI-compatible server on the local engine.</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var model = CliOptions.Model("The model folder to serve.");
        var host = new Option<string>("--host") { Description = "Address to listen on (loopback by default; 0.0.0.0 opens it to the network).", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "Port to listen on (0: any free port).", DefaultValueFactory = _ => 8000 };
        var name = new Option<string?>("--name") { Description = "The name the model answers to in requests (default: the folder's name)." };
        var apiKeyEnv = new Option<string?>("--api-key-env") { Description = "An environment variable holding the API key every /v1 request must send as a Bearer token." };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Largest max_tokens a request may ask for.", DefaultValueFactory = _ => 4096 };
        var maxBody = new Option<long>("--max-request-bytes") { Description = "Largest request body.", DefaultValueFactory = _ => 4L << 20 };
        var timeout = new Option<int>("--timeout") { Description = "Seconds a request may wait for the model before it is answered 503.", DefaultValueFactory = _ => 600 };
        var noAdapters = new Option<bool>("--no-adapter-loading") { Description = "Refuse /v1/load_lora_adapter." };
        var dtype = CliOptions.DType("Compute dtype: auto, bf16, f32 or f16.");
        var command = new Command("serve", "Serve a model over HTTP with the OpenAI API as vLLM spells it (/v1/models, /v1/completions, /v1/chat/completions, " +
            "/v1/load_lora_adapter), token-id prompts and the log-probability fields SelfAlign's remote engine uses. Runs until Ctrl+C.")
        {
            model, host, port, name, apiKeyEnv, maxTokens, maxBody, timeout, noAdapters, dtype,
        };
        command.SetAction(parse =>
        {
            CliOptions.Apply(parse);
            string folder = parse.GetRequiredValue(model).FullName;
            ModelFolder.Check(folder);
            string? keyVariable = parse.GetValue(apiKeyEnv);
            string? key = keyVariable is null ? null
                : Environment.GetEnvironmentVariable(keyVariable) is { Length: > 0 } k ? k : throw new UsageException($"--api-key-env: the environment variable {keyVariable} is empty or unset");
            var options = new ServeOptions
            {
                Host = parse.GetValue(host)!, Port = parse.GetValue(port), ModelName = parse.GetValue(name) ?? Path.GetFileName(folder), ApiKey = key,
                MaxTokens = CliOptions.AtLeast(parse, maxTokens, 1), MaxRequestBytes = parse.GetValue(maxBody),
                RequestTimeout = TimeSpan.FromSeconds(CliOptions.AtLeast(parse, timeout, 1)), AllowAdapterLoading = !parse.GetValue(noAdapters),
            };
            var models = new ServedModels(folder, options.ModelName, new LoadOptions(CliOptions.ParseDType(parse.GetValue(dtype)!)));
            using var stop = new CancellationTokenSource();
            Console.CancelKeyPress += (_, e) =>
            {
                e.Cancel = true;
                stop.Cancel();
            };
            OpenAiServer server;
            try
            {
                server = OpenAiServer.StartAsync(models, options).GetAwaiter().GetResult();
            }
            catch (IOException e)
            {
                models.Dispose();
                throw new UsageException($"--host {options.Host} --port {options.Port}: cannot listen there ({e.Message})");
            }
            CliConsole.Out().MarkupLine($"serving [bold]{Markup.Escape(options.ModelName)}[/] at [bold]{server.Address}v1[/]{(key is null ? "" : " (API key required)")}; Ctrl+C stops");
            server.WaitAsync(stop.Token).GetAwaiter().GetResult();
            server.DisposeAsync().AsTask().GetAwaiter().GetResult();
            return 0;
        });
        return command;
    }
}
