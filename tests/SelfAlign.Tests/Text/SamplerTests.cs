using SelfAlign.Text;
using Xunit;

namespace SelfAlign.Tests.Text;

/// <summary>Sampling rules against closed-form expectations.</summary>
public class SamplerTests
{
    static readonly float[] Logits = [2.0f, 1.0f, 0.5f, -1.0f, 0.0f];

    static int Draw(SamplingOptions options, ulong seed = 1, IReadOnlySet<int>? seen = null)
    {
        var random = new RandomStream(seed);
        return Sampler.Sample(Logits, Logits.Length, options, seen, ref random).Token;
    }

    [Fact]
    public void Truncations_to_one_token_are_greedy()
    {
        for (ulong seed = 0; seed < 50; seed++)
        {
            Assert.Equal(0, Draw(new SamplingOptions { TopK = 1 }, seed));
            Assert.Equal(0, Draw(new SamplingOptions { TopP = 0.01 }, seed));
            Assert.Equal(0, Draw(new SamplingOptions { MinP = 1 }, seed));
        }
        Assert.Equal(0, Draw(new SamplingOptions { Temperature = 0 }));
    }

    [Fact]
    public void Log_prob_is_the_raw_log_softmax()
    {
        var random = new RandomStream(3);
        var (token, logProb) = Sampler.Sample(Logits, Logits.Length, new SamplingOptions { Temperature = 0.5, TopK = 2 }, null, ref random);
        double z = Math.Log(Logits.Sum(l => Math.Exp(l)));
        Assert.Equal(Logits[token] - z, logProb, 5);
    }

    [Fact]
    public void Frequencies_follow_the_tempered_truncated_distribution()
    {
        // Temperature 2 over the top 3 tokens: p_i proportional to exp(l_i / 2).
        var options = new SamplingOptions { Temperature = 2, TopK = 3 };
        double[] weights = Logits.Take(3).Select(l => Math.Exp(l / 2)).ToArray();
        var expected = weights.Select(w => w / weights.Sum()).ToArray();
        var counts = new int[Logits.Length];
        var random = new RandomStream(42);
        const int n = 20000;
        for (int i = 0; i < n; i++) counts[Sampler.Sample(Logits, Logits.Length, options, null, ref random).Token]++;
        for (int t = 0; t < 3; t++) Assert.InRange(counts[t] / (double)n, expected[t] - 0.015, expected[t] + 0.015);
        Assert.Equal(0, counts[3] + counts[4]);
    }

    [Fact]
    public void Top_p_keeps_the_token_that_crosses_p()
    {
        // Softmax of the logits: 0.547, 0.201, 0.122, 0.027, 0.074 (sorted: 0, 1, 2, 4, 3).
        var seen = new HashSet<int>();
        for (ulong seed = 0; seed < 300; seed++) seen.Add(Draw(new SamplingOptions { TopP = 0.7 }, seed));
        Assert.Equal([0, 1], seen.Order());
    }

    [Fact]
    public void Top_p_without_top_k_measures_the_nucleus_against_the_whole_vocabulary()
    {
        // A 150,000-token vocabulary: 10 head tokens share 60% of the mass, the tail of 149,990 the rest.
        // The nucleus of 0.5 is the head tokens whose mass, in descending order, first reaches 50%:
        // head weights 10, 9, ..., 1 (sum 55) at 60% give 10.9%, 9.8%, 8.7%, 7.6%, 6.5%, 5.5%, 4.4%: seven tokens
        // (49.1% after six). Measured against the head alone, 50% would be reached after five.
        const int vocab = 150_000, head = 10;
        var logits = new float[vocab];
        double headMass = 0.6, tailEach = 0.4 / (vocab - head);
        for (int t = 0; t < head; t++) logits[t] = (float)Math.Log(headMass * (head - t) / 55.0);
        for (int t = head; t < vocab; t++) logits[t] = (float)Math.Log(tailEach);
        var p = Enumerable.Range(0, head).Select(t => headMass * (head - t) / 55.0).ToArray();
        int nucleus = 1;
        for (double sum = p[0]; sum < 0.5; sum += p[nucleus++]) { }
        Assert.Equal(7, nucleus);

        var counts = new Dictionary<int, int>();
        var random = new RandomStream(11);
        const int n = 5000;
        for (int i = 0; i < n; i++)
        {
            int token = Sampler.Sample(logits, vocab, new SamplingOptions { TopP = 0.5, TopK = 0 }, null, ref random).Token;
            counts[token] = counts.GetValueOrDefault(token) + 1;
        }
        Assert.Equal(Enumerable.Range(0, nucleus), counts.Keys.Order());
        double kept = p.Take(nucleus).Sum();
        for (int t = 0; t < nucleus; t++) Assert.InRange(counts[t] / (double)n, p[t] / kept - 0.025, p[t] / kept + 0.025);
    }

    [Fact]
    public void Repetition_penalty_divides_positive_and_multiplies_negative_logits()
    {
        // Penalty 10 on token 0 (2.0 -> 0.2) makes token 1 (1.0) the argmax.
        Assert.Equal(1, Draw(new SamplingOptions { Temperature = 0, RepetitionPenalty = 10 }, seen: new HashSet<int> { 0 }));
        // A negative logit is multiplied: -1.0 -> -2.0 falls below -1.5 (dividing would raise it to -0.5).
        var random = new RandomStream(0);
        var pick = Sampler.Sample([-1.0f, -1.5f], 2, new SamplingOptions { Temperature = 0, RepetitionPenalty = 2 }, new HashSet<int> { 0 }, ref random);
        Assert.Equal(1, pick.Token);
    }

    [Fact]
    public void Random_stream_is_fixed_across_runs()
    {
        var r = RandomStream.For(7, 0);
        var first = Enumerable.Range(0, 3).Select(_ => r.NextULong()).ToArray();
        var again = RandomStream.For(7, 0);
        Assert.Equal(first, Enumerable.Range(0, 3).Select(_ => again.NextULong()).ToArray());
        var other = RandomStream.For(7, 1);
        Assert.NotEqual(first[0], other.NextULong());
    }
}
