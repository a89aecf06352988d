using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using SelfAlign.Inference;
using SelfAlign.Inference.Remote;
using SelfAlign.Text;
using Xunit;

namespace SelfAlign.Tests.Serving;

/// <summary>
/// Each server's request and response shapes, as their documentation gives them
/// (fixtures/servers, sources named in each file): what the remote engine asks and what it reads back.
/// </summary>
public sealed class ServerDialectTests
{
    static JsonNode Fixture(string name) => JsonNode.Parse(File.ReadAllText(Path.Combine(TestModels.Fixtures, "servers", name + ".json")))!;

    /// <summary>Answers /v1/models and the dialect's path with the fixture's answers, keeping every request.</summary>
    sealed class FakeServer(JsonNode fixture) : HttpMessageHandler
    {
        public readonly List<JsonObject> Requests = [];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancel)
        {
            JsonNode answer;
            if (request.Method == HttpMethod.Get) answer = new JsonObject { ["data"] = new JsonArray(new JsonObject { ["id"] = "m", ["max_model_len"] = 2048 }) };
            else
            {
                var body = JsonNode.Parse(await request.Content!.ReadAsStringAsync(cancel))!.AsObject();
                lock (Requests) Requests.Add(body);
                bool labels = body.ContainsKey("logprob_token_ids") || body.ContainsKey("token_ids_logprob") || (int?)body["n_predict"] == 1
                    || (int?)body["options"]?["num_predict"] == 1;
                bool prompt = body.ContainsKey("prompt_logprobs") || (int?)body["logprob_start_len"] == 0;
                answer = fixture[labels ? "label_response" : prompt ? "prompt_response" : "sample_response"]!.DeepClone();
            }
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(answer.ToJsonString(), Encoding.UTF8, "application/json") };
        }
    }

    static (RemoteLanguageModel Engine, FakeServer Server) Connect(ServerKind kind, string fixture)
    {
        var server = new FakeServer(Fixture(fixture));
        var engine = new RemoteLanguageModel(TestModels.Tokenizer("smollm2"), new RemoteEngineOptions { Endpoints = [new Uri("http://fake:1")], Kind = kind }, handler: server);
        return (engine, server);
    }

    [Theory]
    [InlineData(ServerKind.Vllm, "vllm")]
    [InlineData(ServerKind.Sglang, "sglang")]
    public void Exact_servers_give_label_and_completion_log_probs(ServerKind kind, string fixture)
    {
        var (engine, server) = Connect(kind, fixture);
        using var _ = engine;
        Assert.Equal(new[] { -0.25, -1.75 }, engine.NextTokenLogProbs([[1, 2, 3]], [7, 9])[0]);
        Assert.Equal(0, engine.ApproximatedLabels);
        Assert.Equal(-2.5, engine.CompletionLogProbs([([4, 5], [6, 8])])[0], 12);
        var samples = engine.Generate([new GenerationRequest([1, 2], 2, 5)], new SamplingOptions { Temperature = 0.7, TopK = 40, MaxNewTokens = 3 }).ToList();
        Assert.Equal([[11, 12], [13, 14, 15]], samples.Select(s => s.TokenIds.ToArray()));
        Assert.Equal([FinishReason.Stop, FinishReason.Length], samples.Select(s => s.FinishReason));
        Assert.Equal(-1.5, samples[0].SumLogProb, 6);

        var (label, promptScore, sample) = (server.Requests[0], server.Requests[1], server.Requests[2]);
        if (kind == ServerKind.Vllm)
        {
            Assert.Equal("[7,9]", label["logprob_token_ids"]!.ToJsonString());
            Assert.Equal("[1,2,3]", label["prompt"]!.ToJsonString());
            Assert.Equal(0, (int)promptScore["prompt_logprobs"]!);
            Assert.Equal((2, 5L, 40), ((int)sample["n"]!, (long)sample["seed"]!, (int)sample["top_k"]!));
        }
        else
        {
            Assert.Equal("[7,9]", label["token_ids_logprob"]!.ToJsonString());
            Assert.Equal("[1,2,3]", label["input_ids"]!.ToJsonString());
            Assert.Equal(0, (int)promptScore["logprob_start_len"]!);
            Assert.Equal((2, 5L, 40), ((int)sample["sampling_params"]!["n"]!, (long)sample["sampling_params"]!["sampling_seed"]!, (int)sample["sampling_params"]!["top_k"]!));
        }
    }

    [Fact]
    public void Llama_cpp_gives_the_top_n_by_id_and_one_request_per_sample()
    {
        var (engine, server) = Connect(ServerKind.LlamaCpp, "llamacpp");
        using var _ = engine;
        Assert.Equal(new[] { -0.25, -2.5 }, engine.NextTokenLogProbs([[1, 2, 3]], [7, 9])[0]); // 9 is not in the top: bounded by the last listed
        Assert.Equal(1, engine.ApproximatedLabels);
        Assert.Equal(ServerDialect.TopN, (int)server.Requests[0]["n_probs"]!);
        var samples = engine.Generate([new GenerationRequest([1, 2], 2, 5)], new SamplingOptions { Temperature = 0.7, MaxNewTokens = 3 }).ToList();
        Assert.Equal([0, 1], samples.Select(s => s.Sample));
        Assert.All(samples, s => Assert.Equal([11, 12], s.TokenIds));
        Assert.Equal([5L, 6L], server.Requests.Skip(1).Select(r => (long)r["seed"]!).Order());
        Assert.Throws<RemoteEngineException>(() => engine.CompletionLogProbs([([4, 5], [6, 8])]));
    }

    [Fact]
    public void Ollama_gives_the_top_n_by_text_from_a_raw_text_prompt()
    {
        var (engine, server) = Connect(ServerKind.Ollama, "ollama");
        using var _ = engine;
        var tokenizer = engine.Tokenizer;
        int yes = tokenizer.Encode(" Yes").Single(), no = tokenizer.Encode(" No").Single();
        var prompt = tokenizer.Encode("Is Paris in France? Answer:");
        Assert.Equal(new[] { -0.25, -2.5 }, engine.NextTokenLogProbs([prompt], [yes, no])[0]);
        Assert.Equal(1, engine.ApproximatedLabels);
        var request = server.Requests[0];
        Assert.Equal(("Is Paris in France? Answer:", true, true), ((string)request["prompt"]!, (bool)request["raw"]!, (bool)request["logprobs"]!));
        var sample = Assert.Single(engine.Generate([new GenerationRequest(prompt, 1, 3)], new SamplingOptions { MaxNewTokens = 4 }));
        Assert.Equal("Paris.", sample.Text);
        Assert.Equal(tokenizer.Encode("Paris").Concat(tokenizer.Encode(".")), sample.TokenIds);
        Assert.Equal(3L, (long)server.Requests[1]["options"]!["seed"]!);
    }
}
