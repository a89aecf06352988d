using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using SelfAlign.Evaluation;
using SelfAlign.Inference;
using SelfAlign.Judging;
using SelfAlign.Modeling;
using SelfAlign.Serving;
using SelfAlign.Text;

namespace SelfAlign.Bench;

/// <summary>
/// A bounded loopback load test of <c>selfalign serve</c>: concurrent clients send yes/no judge
/// requests (label log-probabilities at the first position, token-id prompts from the shipped
/// preference suite) to a random model shaped like SmolLM2-135M, and the run reports requests per
/// second with latency percentiles, against the machine's own limit measured in the same run: the
/// same requests answered by the engine in this process without HTTP, one at a time, and all at
/// once as the local judge runs them (the engine's best for them). GET /v1/models at the same concurrency gives the HTTP layer's own ceiling.
/// </summary>
internal static class ServeBench
{
    public static int Run(int threads, string[] args)
    {
        int requests = args.Length > 0 ? int.Parse(args[0]) : 120;
        int clients = args.Length > 1 ? int.Parse(args[1]) : 8;
        string folder = Directory.CreateTempSubdirectory("selfalign-serve-bench-").FullName;
        try
        {
            foreach (string file in new[] { "config.json", "tokenizer.json" }) File.Copy(Path.Combine(BenchModel.SmolLm2Folder, file), Path.Combine(folder, file));
            var config = ModelConfig.Load(Path.Combine(folder, "config.json"));
            using (var weights = BenchModel.Random(config)) ModelFolder.SaveWeights(weights, folder);
            var tokenizer = Tokenizer.Load(folder);

            var (all, _) = BenchData.Load([Path.Combine(BenchModel.RepoRoot(), "data", "prefbench")], skipInvalid: false);
            var sample = BenchData.Sample(all, (int)Math.Ceiling(requests / 16.0), seed: 0).Take(requests).ToArray();
            using var served = new ServedModels(folder, "bench", new LoadOptions(BenchModel.DType));
            var engine = served.Engine("bench");
            var judge = new YesNoJudge(engine, new YesNoOptions(JudgePromptSet.IpoEvaluation));
            var prompts = sample.Select(p => judge.Input(new JudgeItem(p.Prompt, p.Chosen[0], p.Category!, p.Subset))).ToArray();
            int[] labels = [.. judge.Yes.Ids, .. judge.No.Ids];
            Console.WriteLine($"model: SmolLM2-135M shape, random {BenchModel.DTypeName} weights, {threads} threads; {prompts.Length} judge requests " +
                $"({prompts.Average(p => p.Count):F0} tokens on average), {clients} concurrent clients, loopback");

            // The limit: the engine in this process, one request at a time, as the server runs them.
            engine.NextTokenLogProbs([prompts[0]], labels);
            var clock = Stopwatch.StartNew();
            foreach (var p in prompts) engine.NextTokenLogProbs([p], labels);
            double inProcess = prompts.Length / clock.Elapsed.TotalSeconds;
            // And all at once, as the local judge runs them (shared prefixes, batches): the most the engine gives these requests.
            clock.Restart();
            engine.NextTokenLogProbs(prompts, labels);
            double batched = prompts.Length / clock.Elapsed.TotalSeconds;

            var server = OpenAiServer.StartAsync(served, new ServeOptions { Port = 0 }).GetAwaiter().GetResult();
            using var http = new HttpClient { BaseAddress = server.Address, Timeout = TimeSpan.FromMinutes(10) };
            string Body(IReadOnlyList<int> p) => new JsonObject
            {
                ["model"] = "bench", ["prompt"] = new JsonArray([.. p.Select(t => (JsonNode?)t)]), ["max_tokens"] = 1, ["temperature"] = 0,
                ["logprob_token_ids"] = new JsonArray([.. labels.Select(t => (JsonNode?)t)]), ["return_tokens_as_token_ids"] = true,
            }.ToJsonString();
            var bodies = prompts.Select(Body).ToArray();
            Load(http, 1, 1, _ => Post(http, bodies[0]));
            var (judgeRate, judgeLatency) = Load(http, bodies.Length, clients, i => Post(http, bodies[i]));
            var (modelsRate, modelsLatency) = Load(http, 2000, clients, _ => http.GetStringAsync("v1/models"));
            server.DisposeAsync().AsTask().GetAwaiter().GetResult();

            Console.WriteLine($"{"request",-22} {"req/s",8} {"p50 ms",8} {"p90 ms",8} {"p99 ms",8} {"% of in-process",16}");
            Console.WriteLine($"{"judge (in-process)",-22} {inProcess,8:F2} {1000 / inProcess,8:F0} {"",8} {"",8} {100.0,15:F0}%");
            Console.WriteLine($"{"judge (all at once)",-22} {batched,8:F2} {"",8} {"",8} {"",8} {100 * batched / inProcess,15:F0}%");
            Row("judge over HTTP", judgeRate, judgeLatency, inProcess);
            Row("GET /v1/models", modelsRate, modelsLatency, null);
            Console.WriteLine("peers: none runs here (vLLM, SGLang and llama.cpp's server need a GPU or packages this machine lacks)");
            return 0;
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    static async Task Post(HttpClient http, string body)
    {
        using var response = await http.PostAsync("v1/completions", new StringContent(body, Encoding.UTF8, "application/json"));
        response.EnsureSuccessStatusCode();
        await response.Content.ReadAsStringAsync();
    }

    /// <summary>Sends <paramref name="count"/> requests from <paramref name="clients"/> clients; returns requests per second and each latency in ms.</summary>
    static (double Rate, double[] Latency) Load(HttpClient http, int count, int clients, Func<int, Task> send)
    {
        var latency = new double[count];
        int next = -1;
        var clock = Stopwatch.StartNew();
        Task.WaitAll([.. Enumerable.Range(0, clients).Select(_ => Task.Run(async () =>
        {
            for (int i; (i = Interlocked.Increment(ref next)) < count;)
            {
                long start = Stopwatch.GetTimestamp();
                await send(i);
                latency[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }
        }))]);
        return (count / clock.Elapsed.TotalSeconds, latency);
    }

    static void Row(string name, double rate, double[] latency, double? limit)
    {
        var sorted = latency.Order().ToArray();
        double P(double q) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
        Console.WriteLine($"{name,-22} {rate,8:F2} {P(0.5),8:F1} {P(0.9),8:F1} {P(0.99),8:F1} {(limit is { } l ? $"{100 * rate / l,15:F0}%" : ""),16}");
    }
}
