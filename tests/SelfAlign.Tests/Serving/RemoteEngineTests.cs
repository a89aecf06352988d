using System.Net;
using SelfAlign.Inference;
using SelfAlign.Inference.Remote;
using SelfAlign.Judging;
using SelfAlign.Modeling;
using SelfAlign.Serving;
using SelfAlign.Tests.Cli;
using SelfAlign.Text;
using Xunit;

namespace SelfAlign.Tests.Serving;

/// <summary>A random-weight model served by <c>selfalign serve</c>'s server on loopback, and the same model loaded here.</summary>
public sealed class ServedModelFixture : IAsyncLifetime
{
    readonly string _dir = Directory.CreateTempSubdirectory("selfalign-serve-").FullName;
    CausalLm? _weights;

    public string Folder => Path.Combine(_dir, "model");
    public OpenAiServer Server { get; private set; } = null!;
    public LocalLanguageModel Local { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var init = CliRunner.Run("init-model", "--config", Path.Combine(TestModels.Configs, "smollm2-135m", "config.json"), "--out", Folder, "--layers", "1", "--dtype", "f32");
        Assert.True(init.Code == 0, init.Err);
        var load = new LoadOptions(TorchSharp.torch.ScalarType.Float32);
        Server = await OpenAiServer.StartAsync(new ServedModels(Folder, "tiny", load), new ServeOptions { Port = 0, MaxTokens = 64 });
        _weights = ModelFolder.Load(Folder, load);
        Local = new LocalLanguageModel(_weights, Tokenizer.Load(Folder));
    }

    public RemoteLanguageModel Remote(RemoteEngineOptions? options = null, HttpMessageHandler? handler = null) =>
        new(Local.Tokenizer, options ?? new RemoteEngineOptions { Endpoints = [Server.Address] }, handler: handler);

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        _weights?.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}

/// <summary>
/// The remote engine against a real server: every judge scores the same through it as on the local
/// engine, seeded sampling draws the same tokens, and retries, time-outs and a dead replica lose and
/// duplicate nothing.
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class RemoteEngineTests(ServedModelFixture served) : IClassFixture<ServedModelFixture>
{
    /// <summary>Largest difference of a log-probability between the engines: the same f32 arithmetic, batched differently.</summary>
    const double Tolerance = 1e-4;

    static readonly JudgeItem[] Items =
    [
        new("What is the capital of France?", "Paris is the capital of France."),
        new("Name a prime number.", "Nine."),
        new("Write a haiku about rain.", "Rain taps the window / slow drums on the glass / the street sleeps"),
    ];

    [Fact]
    public void The_yes_no_judge_scores_the_same_remotely()
    {
        using var remote = served.Remote();
        var options = new YesNoOptions(JudgePromptSet.IpoEvaluation);
        var local = new YesNoJudge(served.Local, options).Score(Items);
        var far = new YesNoJudge(remote, options).Score(Items);
        foreach (var (a, b) in local.Zip(far))
        {
            Assert.Equal(Math.Log(a.PYes), Math.Log(b.PYes), Tolerance);
            Assert.Equal(Math.Log(a.PNo), Math.Log(b.PNo), Tolerance);
        }
    }

    [Fact]
    public void The_pairwise_judge_scores_the_same_remotely()
    {
        using var remote = served.Remote();
        PairwiseItem[] pairs = [new(Items[0].Instruction, Items[0].Response, "Lyon."), new(Items[1].Instruction, "Seven.", Items[1].Response)];
        var local = new PairwiseJudge(served.Local).Compare(pairs);
        var far = new PairwiseJudge(remote).Compare(pairs);
        foreach (var (a, b) in local.Zip(far))
        {
            Assert.Equal(a.FirstAsA, b.FirstAsA, Tolerance);
            Assert.Equal(a.FirstAsB, b.FirstAsB, Tolerance);
        }
    }

    [Fact]
    public void The_additive_judge_samples_the_same_judgments_remotely()
    {
        using var remote = served.Remote();
        var options = new AdditiveOptions(2, new SamplingOptions { Temperature = 0.8, TopK = 20, MaxNewTokens = 16 }, Seed: 5);
        var local = new AdditiveJudge(served.Local, options).Score(Items);
        var far = new AdditiveJudge(remote, options).Score(Items);
        Assert.Equal(local.Select(s => s.Judgments), far.Select(s => s.Judgments));
    }

    [Fact]
    public void Seeded_sampling_and_completion_log_probs_match_the_local_engine()
    {
        using var remote = served.Remote();
        var tokenizer = served.Local.Tokenizer;
        GenerationRequest[] requests = [new(tokenizer.Encode("Once upon a time"), 3, 11), new(tokenizer.Encode("The answer is"), 2, 12) { Only = [1] }];
        var sampling = new SamplingOptions { Temperature = 0.9, TopP = 0.95, MaxNewTokens = 10, StopStrings = ["\n"] };
        var local = served.Local.Generate(requests, sampling).OrderBy(c => c.Request).ThenBy(c => c.Sample).ToList();
        var far = remote.Generate(requests, sampling).OrderBy(c => c.Request).ThenBy(c => c.Sample).ToList();
        Assert.Equal(local.Select(c => (c.Request, c.Sample, c.Text)), far.Select(c => (c.Request, c.Sample, c.Text)));
        Assert.Equal(local.Select(c => c.TokenIds), far.Select(c => c.TokenIds));
        Assert.Equal(4, far.Count);

        var items = far.Select(c => (requests[c.Request].PromptIds, c.TokenIds)).ToList();
        foreach (var (a, b) in served.Local.CompletionLogProbs(items).Zip(remote.CompletionLogProbs(items))) Assert.Equal(a, b, Tolerance * 10);
        foreach (var (c, sum) in far.Zip(remote.CompletionLogProbs(items))) Assert.Equal(c.SumLogProb, sum, Tolerance * 10);
    }

    [Fact]
    public void Failures_move_requests_to_other_replicas_and_lose_or_repeat_nothing()
    {
        // Replicas: a dead port, the server reached as 127.0.0.1 (its first three answers replaced by 503, 429 and a stall)
        // and as localhost. Every prompt must come back once, with the local engine's numbers.
        var faults = new FaultInjector(served.Server.Address.Host);
        var options = new RemoteEngineOptions
        {
            Endpoints = [new Uri("http://127.0.0.1:9"), served.Server.Address, new Uri($"http://localhost:{served.Server.Address.Port}")],
            ConcurrencyPerEndpoint = 2, RequestTimeout = TimeSpan.FromSeconds(5), Backoff = TimeSpan.FromMilliseconds(50), MaxAttempts = 8,
        };
        using var remote = served.Remote(options, faults);
        var tokenizer = served.Local.Tokenizer;
        var prompts = Enumerable.Range(0, 24).Select(i => (IReadOnlyList<int>)tokenizer.Encode($"Question {i}: is {i} even?")).ToArray();
        int[] labels = [.. tokenizer.Encode(" yes"), .. tokenizer.Encode(" no")];
        int heard = 0;
        var far = remote.NextTokenLogProbs(prompts, labels, n => heard += n);
        var local = served.Local.NextTokenLogProbs(prompts, labels);
        Assert.Equal(24, heard);
        for (int i = 0; i < prompts.Length; i++)
            for (int k = 0; k < labels.Length; k++) Assert.Equal(local[i][k], far[i][k], Tolerance);
        var stats = remote.Pool.Stats();
        Assert.Equal(0, stats[0].Succeeded);
        Assert.True(stats[0].Failed >= 1);
        Assert.Equal(3, faults.Injected);
        Assert.Equal(24, stats.Sum(s => s.Succeeded) - 1); // the one more: /v1/models on connecting
    }

    [Fact]
    public void A_refused_request_stops_with_the_servers_message()
    {
        using var remote = served.Remote();
        var e = Assert.Throws<RemoteEngineException>(() => remote.Generate([new GenerationRequest([1, 2, 3])], new SamplingOptions { MaxNewTokens = 500 }).ToList());
        Assert.Contains("HTTP 400", e.Message);
        Assert.Contains("max_tokens must be between 1 and 64", e.Message);
    }

    /// <summary>Answers the first three requests to one host with a 503, a 429 (Retry-After 0) and a stall; then passes everything on.</summary>
    sealed class FaultInjector(string host) : DelegatingHandler(new SocketsHttpHandler())
    {
        int _seen;

        // The first three requests to the host get a fault; derived from the one atomic counter, since
        // requests run concurrently (a separate counter's ++ lost an increment now and then).
        public int Injected => Math.Min(Volatile.Read(ref _seen), 3);

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancel)
        {
            if (request.RequestUri!.Host == host && request.RequestUri.AbsolutePath.EndsWith("completions", StringComparison.Ordinal))
                switch (Interlocked.Increment(ref _seen))
                {
                    case 1:
                        return new HttpResponseMessage(HttpStatusCode.ServiceUnavailable) { Content = new StringContent("{\"error\": {\"message\": \"overloaded\"}}") };
                    case 2:
                        var busy = new HttpResponseMessage(HttpStatusCode.TooManyRequests);
                        busy.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(TimeSpan.Zero);
                        return busy;
                    case 3:
                        await Task.Delay(TimeSpan.FromSeconds(30), cancel);
                        break;
                }
            return await base.SendAsync(request, cancel);
        }
    }
}
