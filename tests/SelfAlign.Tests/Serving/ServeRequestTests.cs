using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using SelfAlign.Modeling;
using SelfAlign.Serving;
using Xunit;

namespace SelfAlign.Tests.Serving;

/// <summary>The server's answers to bad requests: OpenAI-style error bodies and status codes, and it keeps serving.</summary>
public sealed class ServeRequestTests(ServedModelFixture served) : IClassFixture<ServedModelFixture>
{
    static async Task<(HttpStatusCode Status, JsonNode? Body)> Post(HttpClient http, Uri server, string path, string body, string? key = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server, path)) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (key is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var response = await http.SendAsync(request);
        string text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.StartsWith('{') ? JsonNode.Parse(text) : null);
    }

    [Fact]
    public async Task Bad_requests_get_openai_errors_and_the_server_keeps_serving()
    {
        using var http = new HttpClient();
        var server = served.Server.Address;
        var cases = new (string Body, HttpStatusCode Status, string Type, string? Param, string Says)[]
        {
            ("{\"prompt\": ", HttpStatusCode.BadRequest, "invalid_request_error", null, "not valid JSON"),
            ("[1, 2]", HttpStatusCode.BadRequest, "invalid_request_error", "body", "JSON object"),
            ("{\"model\": \"other\", \"prompt\": \"hi\"}", HttpStatusCode.NotFound, "invalid_request_error", "model", "does not exist"),
            ("{\"prompt\": \"hi\", \"max_tokens\": 100000}", HttpStatusCode.BadRequest, "invalid_request_error", "max_tokens", "between 1 and 64"),
            ("{\"prompt\": \"hi\", \"temperature\": \"hot\"}", HttpStatusCode.BadRequest, "invalid_request_error", "temperature", "must be a number"),
            ("{\"prompt\": [1, 99999999]}", HttpStatusCode.BadRequest, "invalid_request_error", "prompt", "out of the vocabulary"),
            ("{\"prompt\": \"hi\", \"stream\": true}", HttpStatusCode.BadRequest, "invalid_request_error", "stream", "not supported"),
            ($"{{\"prompt\": [{string.Join(',', Enumerable.Repeat(5, 8190))}], \"max_tokens\": 16}}", HttpStatusCode.BadRequest, "invalid_request_error", "prompt", "maximum context length"),
        };
        foreach (var (body, status, type, param, says) in cases)
        {
            var (got, error) = await Post(http, server, "v1/completions", body);
            Assert.True(status == got, $"{body[..Math.Min(60, body.Length)]}: {got}");
            Assert.Equal(type, (string?)error!["error"]!["type"]);
            Assert.Equal(param, (string?)error["error"]!["param"]);
            Assert.Contains(says, (string)error["error"]!["message"]!);
        }
        var (unknownRoute, _) = await Post(http, server, "v1/embeddings", "{}");
        Assert.Equal(HttpStatusCode.NotFound, unknownRoute);

        var (ok, answer) = await Post(http, server, "v1/completions", "{\"prompt\": \"hi\", \"max_tokens\": 3, \"temperature\": 0}");
        Assert.Equal(HttpStatusCode.OK, ok);
        Assert.Equal(3, (int)answer!["usage"]!["completion_tokens"]!);
    }

    [Fact]
    public async Task An_api_key_and_a_size_limit_are_enforced()
    {
        var load = new LoadOptions(TorchSharp.torch.ScalarType.Float32);
        await using var guarded = await OpenAiServer.StartAsync(new ServedModels(served.Folder, "tiny", load),
            new ServeOptions { Port = 0, ApiKey = "sk-test", MaxRequestBytes = 2048 });
        using var http = new HttpClient();
        string body = "{\"prompt\": \"hi\", \"max_tokens\": 2}";
        var (noKey, error) = await Post(http, guarded.Address, "v1/completions", body);
        Assert.Equal(HttpStatusCode.Unauthorized, noKey);
        Assert.Equal("authentication_error", (string?)error!["error"]!["type"]);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Post(http, guarded.Address, "v1/completions", body, "sk-wrong")).Status);
        var (tooBig, bigError) = await Post(http, guarded.Address, "v1/completions", $"{{\"prompt\": \"{new string('a', 4000)}\"}}", "sk-test");
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooBig);
        Assert.Contains("exceeds 2048 bytes", (string)bigError!["error"]!["message"]!);
        Assert.Equal(HttpStatusCode.OK, (await Post(http, guarded.Address, "v1/completions", body, "sk-test")).Status);
        using var health = await http.GetAsync(new Uri(guarded.Address, "health"));
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public async Task Chat_completions_render_the_template_and_report_logprobs()
    {
        using var http = new HttpClient();
        var (status, answer) = await Post(http, served.Server.Address, "v1/chat/completions",
            "{\"model\": \"tiny\", \"messages\": [{\"role\": \"user\", \"content\": \"Hello\"}], \"max_tokens\": 4, \"temperature\": 0, \"logprobs\": true}");
        Assert.Equal(HttpStatusCode.OK, status);
        var choice = answer!["choices"]![0]!;
        Assert.Equal("assistant", (string?)choice["message"]!["role"]);
        var tokens = choice["logprobs"]!["content"]!.AsArray();
        Assert.Equal((int)answer["usage"]!["completion_tokens"]!, tokens.Count);
        Assert.All(tokens, t => Assert.True((double)t!["logprob"]! <= 0));
        string expected = served.Local.Template.Render([new global::SelfAlign.Text.ChatMessage("user", "Hello")], addGenerationPrompt: true);
        Assert.Equal(served.Local.Tokenizer.Encode(expected).Count, (int)answer["usage"]!["prompt_tokens"]!);
    }
}
