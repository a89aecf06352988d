using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace SelfAlign.Inference.Remote;

/// <summary>What one server of a pool has done so far.</summary>
/// <param name="Endpoint">Its base URL.</param>
/// <param name="Succeeded">Requests it answered.</param>
/// <param name="Failed">Tries that failed on it (each retried elsewhere or later).</param>
/// <param name="InFlight">Requests on it now.</param>
/// <param name="Down">Whether it is resting after a failure.</param>
public sealed record EndpointStats(Uri Endpoint, long Succeeded, long Failed, int InFlight, bool Down);

/// <summary>
/// Replicas of one model behind no load balancer: each request goes to the least busy server that
/// is up, at most <see cref="RemoteEngineOptions.ConcurrencyPerEndpoint"/> at a time on each. A try
/// that fails for a reason that may pass (connection refused, a time-out, 429, 5xx) rests that server
/// (longer after each failure in a row, or as its Retry-After says) and goes to another; a request
/// fails only after <see cref="RemoteEngineOptions.MaxAttempts"/> tries. Each call returns its one answer.
/// </summary>
public sealed class EndpointPool : IDisposable
{
    sealed class Endpoint(Uri root, int slots)
    {
        public readonly Uri Root = root;
        public readonly SemaphoreSlim Slots = new(slots, slots);
        public int InFlight, FailuresInRow;
        public long Succeeded, Failed;
        public DateTime DownUntil;
    }

    readonly RemoteEngineOptions _options;
    readonly Endpoint[] _endpoints;
    readonly HttpClient _http;
    readonly string? _apiKey;
    readonly Stopwatch _clock = Stopwatch.StartNew();

    /// <summary>A pool over <see cref="RemoteEngineOptions.Endpoints"/>; <paramref name="handler"/> replaces the HTTP stack (tests).</summary>
    public EndpointPool(RemoteEngineOptions options, HttpMessageHandler? handler = null)
    {
        options.Validate();
        _options = options;
        _endpoints = [.. options.Endpoints.Select(e => new Endpoint(Root(e), options.ConcurrencyPerEndpoint))];
        _http = handler is null ? new HttpClient { Timeout = Timeout.InfiniteTimeSpan } : new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        _apiKey = Environment.GetEnvironmentVariable(options.ApiKeyVariable) is { Length: > 0 } key ? key : null;
    }

    /// <summary>How many requests the pool runs at once.</summary>
    public int Capacity => _endpoints.Length * _options.ConcurrencyPerEndpoint;

    /// <summary>Each server's counts.</summary>
    public IReadOnlyList<EndpointStats> Stats()
    {
        var now = DateTime.UtcNow;
        return [.. _endpoints.Select(e => new EndpointStats(e.Root, Interlocked.Read(ref e.Succeeded), Interlocked.Read(ref e.Failed), e.InFlight,
            e.DownUntil > now))];
    }

    /// <summary>A line for the progress display: each server's answered requests, their rate since the pool started, and its failures.</summary>
    public string Summary() => string.Join("; ", Stats().Select(s =>
        $"{s.Endpoint.Authority} {s.Succeeded} ok ({s.Succeeded / Math.Max(1e-9, _clock.Elapsed.TotalSeconds):F1}/s)" +
        $"{(s.Failed > 0 ? $", {s.Failed} failed" : "")}{(s.Down ? ", resting" : "")}"));

    /// <summary>The base URL without a trailing slash or /v1.</summary>
    static Uri Root(Uri endpoint)
    {
        string s = endpoint.ToString().TrimEnd('/');
        if (s.EndsWith("/v1", StringComparison.Ordinal)) s = s[..^3];
        return new Uri(s + "/");
    }

    /// <summary>POSTs <paramref name="body"/> to <paramref name="path"/> (e.g. v1/completions) and returns the JSON answer.</summary>
    public async Task<JsonNode> PostAsync(string path, JsonObject body, CancellationToken cancel = default) =>
        Parse(path, await SendAsync(HttpMethod.Post, path, body.ToJsonString(), cancel));

    /// <summary>POSTs <paramref name="body"/> to <paramref name="path"/> and returns the answer as text (an endpoint that answers in plain text).</summary>
    public Task<string> PostTextAsync(string path, JsonObject body, CancellationToken cancel = default) => SendAsync(HttpMethod.Post, path, body.ToJsonString(), cancel);

    /// <summary>GETs <paramref name="path"/> from the first server that answers.</summary>
    public async Task<JsonNode> GetAsync(string path, CancellationToken cancel = default) => Parse(path, await SendAsync(HttpMethod.Get, path, null, cancel));

    static JsonNode Parse(string path, string text) => JsonNode.Parse(text) ?? throw new RemoteEngineException($"{path}: an empty answer");

    async Task<string> SendAsync(HttpMethod method, string path, string? body, CancellationToken cancel)
    {
        string? lastError = null;
        for (int attempt = 1; attempt <= _options.MaxAttempts; attempt++)
        {
            var endpoint = Pick();
            var rest = endpoint.DownUntil - DateTime.UtcNow;
            if (rest > TimeSpan.Zero) await Task.Delay(rest, cancel);
            await endpoint.Slots.WaitAsync(cancel);
            Interlocked.Increment(ref endpoint.InFlight);
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
                timeout.CancelAfter(_options.RequestTimeout);
                using var request = new HttpRequestMessage(method, new Uri(endpoint.Root, path));
                if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, "application/json");
                if (_apiKey is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _apiKey);
                using var response = await _http.SendAsync(request, timeout.Token);
                string text = await response.Content.ReadAsStringAsync(timeout.Token);
                if (response.IsSuccessStatusCode)
                {
                    Interlocked.Increment(ref endpoint.Succeeded);
                    endpoint.FailuresInRow = 0;
                    return text;
                }
                lastError = $"{endpoint.Root}{path}: HTTP {(int)response.StatusCode} {Message(text)}";
                if (!Transient(response.StatusCode)) throw new RemoteEngineException(lastError);
                Rest(endpoint, response.Headers.RetryAfter?.Delta);
            }
            catch (Exception e) when (e is HttpRequestException || (e is OperationCanceledException && !cancel.IsCancellationRequested))
            {
                lastError = $"{endpoint.Root}{path}: {(e is OperationCanceledException ? $"no answer within {_options.RequestTimeout.TotalSeconds:F0} s" : e.Message)}";
                Rest(endpoint, null);
            }
            finally
            {
                Interlocked.Decrement(ref endpoint.InFlight);
                endpoint.Slots.Release();
            }
        }
        throw new RemoteEngineException($"gave up after {_options.MaxAttempts} tries; the last: {lastError}");
    }

    /// <summary>The server that is up with the fewest requests on it; when all rest, the one that is back first.</summary>
    Endpoint Pick()
    {
        var now = DateTime.UtcNow;
        lock (_endpoints)
        {
            var up = _endpoints.Where(e => e.DownUntil <= now).ToList();
            return up.Count > 0 ? up.MinBy(e => e.InFlight)! : _endpoints.MinBy(e => e.DownUntil)!;
        }
    }

    void Rest(Endpoint endpoint, TimeSpan? retryAfter)
    {
        Interlocked.Increment(ref endpoint.Failed);
        int row = Interlocked.Increment(ref endpoint.FailuresInRow);
        var pause = retryAfter ?? TimeSpan.FromTicks(Math.Min(_options.MaxBackoff.Ticks, _options.Backoff.Ticks << Math.Min(row - 1, 20)));
        lock (_endpoints) endpoint.DownUntil = DateTime.UtcNow + pause;
    }

    static bool Transient(HttpStatusCode status) => status is HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout || (int)status >= 500;

    /// <summary>The message of an OpenAI-style error body, or the body's start.</summary>
    static string Message(string text)
    {
        try
        {
            if (JsonNode.Parse(text)?["error"]?["message"]?.GetValue<string>() is { } message) return message;
        }
        catch (System.Text.Json.JsonException)
        {
        }
        return text.Length > 300 ? text[..300] : text;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _http.Dispose();
        foreach (var e in _endpoints) e.Slots.Dispose();
    }
}
