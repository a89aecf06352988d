using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace SelfAlign.Serving;

/// <summary>
/// An OpenAI-compatible HTTP server on the local engine, speaking the subset of vLLM's API that
/// SelfAlign's remote engine uses: <c>GET /v1/models</c>, <c>POST /v1/completions</c>,
/// <c>POST /v1/chat/completions</c>, <c>POST /v1/load_lora_adapter</c> and
/// <c>/v1/unload_lora_adapter</c>, and <c>GET /health</c>. Bad requests get OpenAI-style error
/// bodies; the server keeps serving.
/// </summary>
public sealed class OpenAiServer : IAsyncDisposable
{
    readonly WebApplication _app;
    readonly ServedModels _models;

    readonly NextTokenBatcher _batcher;

    OpenAiServer(WebApplication app, ServedModels models, TimeSpan timeout) => (_app, _models, _batcher) = (app, models, new NextTokenBatcher(models, timeout));

    /// <summary>The address the server listens on, e.g. http://127.0.0.1:8000.</summary>
    public Uri Address { get; private set; } = null!;

    /// <summary>Starts serving <paramref name="models"/>; the server owns and disposes them.</summary>
    public static async Task<OpenAiServer> StartAsync(ServedModels models, ServeOptions options)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = options.MaxRequestBytes;
            k.Listen(IPAddress.Parse(options.Host == "localhost" ? "127.0.0.1" : options.Host), options.Port);
        });
        var app = builder.Build();
        var server = new OpenAiServer(app, models, options.RequestTimeout);
        var service = new CompletionService(models, options);
        app.Use(async (context, next) =>
        {
            try
            {
                if (options.ApiKey is { } key && context.Request.Path.StartsWithSegments("/v1") &&
                    context.Request.Headers.Authorization.ToString() != $"Bearer {key}")
                    throw new ApiException(HttpStatusCode.Unauthorized, "authentication_error", "Incorrect API key provided.", code: "invalid_api_key");
                await next(context);
            }
            catch (ApiException e)
            {
                await Write(context, e.Status, e.Body);
            }
            catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
            {
                await Write(context, HttpStatusCode.RequestEntityTooLarge, ApiException.Error($"the request body exceeds {options.MaxRequestBytes} bytes", "invalid_request_error"));
            }
            catch (JsonException e)
            {
                await Write(context, HttpStatusCode.BadRequest, ApiException.Error($"the request body is not valid JSON: {e.Message}", "invalid_request_error"));
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // A failure of this request alone: answered, and the server goes on serving.
                await Write(context, HttpStatusCode.InternalServerError, ApiException.Error($"the request failed: {e.Message}", "server_error"));
            }
        });
        app.MapGet("/health", () => Results.Ok());
        app.MapGet("/v1/models", () => Json(new JsonObject
        {
            ["object"] = "list",
            ["data"] = new JsonArray([.. models.Names.Select(name => (JsonNode?)new JsonObject
            {
                ["id"] = name, ["object"] = "model", ["created"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(), ["owned_by"] = "selfalign",
                ["root"] = models.BaseName, ["parent"] = name == models.BaseName ? null : models.BaseName, ["max_model_len"] = models.MaxModelLength,
            })]),
        }));
        app.MapPost("/v1/completions", async context =>
        {
            var body = await ReadBody(context);
            var request = CompletionRequest.Parse(body, options, chat: false);
            await Write(context, HttpStatusCode.OK, await server.CompleteAsync(service, body, request, options, context.RequestAborted));
        });
        app.MapPost("/v1/chat/completions", async context =>
        {
            var body = await ReadBody(context);
            var request = CompletionRequest.Parse(body, options, chat: true);
            await Write(context, HttpStatusCode.OK, await models.RunAsync(() => service.Chat(body, request), options.RequestTimeout, context.RequestAborted));
        });
        app.MapPost("/v1/load_lora_adapter", async context =>
        {
            if (!options.AllowAdapterLoading) throw new ApiException(HttpStatusCode.NotFound, "invalid_request_error", "adapter loading is off on this server");
            var body = await ReadBody(context);
            string name = Field(body, "lora_name"), path = Field(body, "lora_path");
            await Task.Run(() => models.LoadAdapter(name, path));
            await WriteText(context, $"Success: LoRA adapter '{name}' added successfully.");
        });
        app.MapPost("/v1/unload_lora_adapter", async context =>
        {
            if (!options.AllowAdapterLoading) throw new ApiException(HttpStatusCode.NotFound, "invalid_request_error", "adapter loading is off on this server");
            string name = Field(await ReadBody(context), "lora_name");
            await Task.Run(() => models.UnloadAdapter(name));
            await WriteText(context, $"Success: LoRA adapter '{name}' removed successfully.");
        });
        app.MapFallback(context => throw new ApiException(HttpStatusCode.NotFound, "invalid_request_error", $"no route {context.Request.Method} {context.Request.Path}"));
        await app.StartAsync();
        server.Address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return server;
    }

    /// <summary>A completions request: a judge's through the batcher, any other on its own turn of the engine.</summary>
    async Task<JsonObject> CompleteAsync(CompletionService service, JsonElement body, CompletionRequest request, ServeOptions options, CancellationToken cancel)
    {
        var (engine, prompts) = service.Read(body, request);
        if (!CompletionService.FromNextToken(request))
            return await _models.RunAsync(() => service.Complete(engine, prompts, request), options.RequestTimeout, cancel);
        var nextToken = await Task.WhenAll(prompts.Select(p => _batcher.Enqueue(engine, p)));
        return service.Complete(engine, prompts, request, nextToken);
    }

    static async Task<JsonElement> ReadBody(HttpContext context)
    {
        using var doc = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
        return doc.RootElement.Clone();
    }

    static string Field(JsonElement body, string name) =>
        body.ValueKind == JsonValueKind.Object && body.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String && v.GetString()!.Length > 0
            ? v.GetString()! : throw ApiException.Invalid(name, $"'{name}' must be a non-empty string");

    static readonly JsonSerializerOptions Output = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    static IResult Json(JsonObject body) => Results.Text(body.ToJsonString(Output), "application/json");

    static async Task Write(HttpContext context, HttpStatusCode status, JsonObject body)
    {
        if (context.Response.HasStarted) return;
        context.Response.StatusCode = (int)status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(body.ToJsonString(Output), context.RequestAborted);
    }

    static async Task WriteText(HttpContext context, string text)
    {
        context.Response.ContentType = "text/plain";
        await context.Response.WriteAsync(text, context.RequestAborted);
    }

    /// <summary>Runs until <paramref name="stop"/> is cancelled.</summary>
    public Task WaitAsync(CancellationToken stop) => Task.Delay(Timeout.Infinite, stop).ContinueWith(_ => { }, TaskScheduler.Default);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        await _batcher.DisposeAsync();
        _models.Dispose();
    }
}
