using System.Buffers;
using System.Numerics.Tensors;

namespace SelfAlign.Text;

/// <summary>
/// Picks the next token from one row of logits. Every sequence owns its random stream, so a
/// sequence's draws depend only on its seed, never on which other sequences share the batch.
/// </summary>
public static class Sampler
{
    /// <summary>
    /// Chooses a token and returns it with its log-probability under the model's own distribution
    /// (log-softmax of the raw logits, before penalty, temperature and truncation).
    /// </summary>
    /// <param name="logits">Raw logits of one position; entries at or past <paramref name="vocabSize"/> are never chosen.</param>
    /// <param name="vocabSize">Number of valid token ids (the tokenizer's vocabulary).</param>
    /// <param name="options">The sampling rule.</param>
    /// <param name="seen">Tokens of the prompt and output so far, for the repetition penalty.</param>
    /// <param name="random">The sequence's random stream.</param>
    public static (int Token, float LogProb) Sample(ReadOnlySpan<float> logits, int vocabSize, SamplingOptions options,
        IReadOnlySet<int>? seen, ref RandomStream random)
    {
        int v = Math.Min(vocabSize, logits.Length);
        // A pooled buffer: a fresh vocabulary-sized array per token would cost more than the draw.
        float[] buffer = ArrayPool<float>.Shared.Rent(v);
        try
        {
            var scores = buffer.AsSpan(0, v);
            double logZ = LogSumExp(logits[..v], scores);
            logits[..v].CopyTo(scores);
            if (options.RepetitionPenalty != 1 && seen is not null)
            {
                float penalty = (float)options.RepetitionPenalty;
                foreach (int t in seen)
                    if (t < v) scores[t] = scores[t] > 0 ? scores[t] / penalty : scores[t] * penalty;
            }

            int token = options.Greedy ? TensorPrimitives.IndexOfMax(scores) : Draw(scores, options, ref random);
            return (token, (float)(logits[token] - logZ));
        }
        finally
        {
            ArrayPool<float>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// A draw from the tempered, truncated distribution. With top-k the k candidates are sorted and
    /// top-p and min-p apply to that list, as Hugging Face's warpers chain. Without it, top-p and
    /// min-p keep every token at or above a weight cut, found without sorting the vocabulary, and
    /// the draw scans the kept tokens in id order (ties at the cut are kept).
    /// </summary>
    static int Draw(Span<float> scores, SamplingOptions options, ref RandomStream random)
    {
        float inv = (float)(1 / options.Temperature);
        if (options.TopK > 0 && options.TopK < scores.Length) return DrawTopK(scores, options, inv, ref random);
        float max = TensorPrimitives.Max(scores);
        TensorPrimitives.Subtract(scores, max, scores);
        TensorPrimitives.Multiply(scores, inv, scores);
        // scores now hold log-weights in (-inf, 0]; the most likely token has weight 1.
        if (options.TopP >= 1 && options.MinP <= 0)
        {
            TensorPrimitives.Exp(scores, scores);
            return Scan(scores, 0, TensorPrimitives.Sum(scores), ref random);
        }
        float[] buffer = ArrayPool<float>.Shared.Rent(scores.Length);
        try
        {
            var weights = buffer.AsSpan(0, scores.Length);
            TensorPrimitives.Exp(scores, weights);
            float cut = options.TopP < 1 ? TopPCut(scores, weights, options.TopP) : 0;
            if (options.MinP > 0) cut = Math.Max(cut, (float)options.MinP);
            double kept = 0;
            foreach (float w in weights) if (w >= cut) kept += w;
            return Scan(weights, cut, kept, ref random);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(buffer);
        }
    }

    /// <summary>Draws a token among those with weight at least <paramref name="cut"/>, in id order; <paramref name="kept"/> is their total weight.</summary>
    static int Scan(ReadOnlySpan<float> weights, float cut, double kept, ref RandomStream random)
    {
        // Should rounding leave u past the scan's sum, the last kept token takes it.
        double u = random.NextDouble() * kept;
        int last = 0;
        for (int i = 0; i < weights.Length; i++)
        {
            if (weights[i] < cut || weights[i] <= 0) continue;
            last = i;
            u -= weights[i];
            if (u < 0) return i;
        }
        return last;
    }

    /// <summary>
    /// The weight of the token that crosses p in descending order: a histogram of the
    /// log-weights finds the bin where the cumulative mass crosses p, and only that bin's tokens
    /// are sorted.
    /// </summary>
    static float TopPCut(ReadOnlySpan<float> logWeights, ReadOnlySpan<float> weights, double p)
    {
        const int Bins = 2048;
        float low = TensorPrimitives.Min(logWeights);
        if (!(low < 0)) return 1;
        float scale = Bins / -low;
        var mass = new double[Bins + 1];
        for (int i = 0; i < weights.Length; i++) mass[(int)((logWeights[i] - low) * scale)] += weights[i];
        double target = p * TensorPrimitives.Sum(weights), above = 0;
        int bin = Bins;
        while (bin > 0 && above + mass[bin] < target) above += mass[bin--];
        var members = new List<(float Weight, int Id)>();
        for (int i = 0; i < weights.Length; i++)
            if ((int)((logWeights[i] - low) * scale) == bin) members.Add((weights[i], i));
        members.Sort((a, b) => b.Weight.CompareTo(a.Weight) is var c && c != 0 ? c : a.Id.CompareTo(b.Id));
        foreach (var (w, _) in members)
        {
            above += w;
            if (above >= target) return w;
        }
        return members[^1].Weight;
    }

    /// <summary>Top-k: the k highest scores, sorted (ties by id), then top-p and min-p on that list.</summary>
    static int DrawTopK(ReadOnlySpan<float> scores, SamplingOptions options, float inv, ref RandomStream random)
    {
        var heap = new PriorityQueue<int, float>(options.TopK + 1);
        for (int i = 0; i < scores.Length; i++)
        {
            if (heap.Count == options.TopK && heap.TryPeek(out _, out float least) && scores[i] <= least) continue;
            heap.Enqueue(i, scores[i]);
            if (heap.Count > options.TopK) heap.Dequeue();
        }
        var candidates = heap.UnorderedItems.Select(e => (Id: e.Element, Score: e.Priority)).ToArray();
        float max = candidates.Max(c => c.Score);
        var sorted = candidates.Select(c => (c.Id, Weight: Math.Exp((c.Score - max) * inv))).ToList();
        sorted.Sort((a, b) => b.Weight.CompareTo(a.Weight) is var c && c != 0 ? c : a.Id.CompareTo(b.Id));
        int keep = sorted.Count;
        double mass = sorted.Sum(c => c.Weight);
        if (options.TopP < 1)
        {
            // Renormalized after top-k, as Hugging Face's warpers chain; the token that crosses p stays.
            double cumulative = 0;
            for (int j = 0; j < keep; j++)
            {
                cumulative += sorted[j].Weight / mass;
                if (cumulative >= options.TopP) { keep = j + 1; break; }
            }
        }
        if (options.MinP > 0)
        {
            double floor = options.MinP * sorted[0].Weight;
            int j = 1;
            while (j < keep && sorted[j].Weight >= floor) j++;
            keep = j;
        }
        double kept = 0;
        for (int j = 0; j < keep; j++) kept += sorted[j].Weight;
        double u = random.NextDouble() * kept;
        for (int j = 0; j < keep; j++)
        {
            u -= sorted[j].Weight;
            if (u < 0) return sorted[j].Id;
        }
        return sorted[keep - 1].Id;
    }

    /// <summary>log Σ exp(x), vectorized; <paramref name="scratch"/> (as long as x) is overwritten.</summary>
    static double LogSumExp(ReadOnlySpan<float> x, Span<float> scratch)
    {
        float max = TensorPrimitives.Max(x);
        TensorPrimitives.Subtract(x, max, scratch);
        TensorPrimitives.Exp(scratch, scratch);
        return max + Math.Log(TensorPrimitives.Sum(scratch));
    }
}

/// <summary>A small, fast, seedable random stream (SplitMix64) that is the same on every platform and runtime.</summary>
public struct RandomStream(ulong seed)
{
    ulong _state = seed;

    /// <summary>The stream of sample <paramref name="index"/> of a request seeded with <paramref name="seed"/>.</summary>
    public static RandomStream For(ulong seed, int index)
    {
        var mix = new RandomStream(seed ^ (0x9E3779B97F4A7C15UL * (ulong)(index + 1)));
        return new RandomStream(mix.NextULong());
    }

    /// <summary>The next 64 random bits.</summary>
    public ulong NextULong()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>A uniform double in [0, 1).</summary>
    public double NextDouble() => (NextULong() >> 11) * (1.0 / (1UL << 53));
}
