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
        double logZ = LogSumExp(logits[..v]);
        var scores = new float[v];
        logits[..v].CopyTo(scores);
        if (options.RepetitionPenalty != 1 && seen is not null)
        {
            float penalty = (float)options.RepetitionPenalty;
            foreach (int t in seen)
                if (t < v) scores[t] = scores[t] > 0 ? scores[t] / penalty : scores[t] * penalty;
        }

        int token = options.Greedy ? ArgMax(scores) : Draw(scores, options, ref random);
        return (token, (float)(logits[token] - logZ));
    }

    static int Draw(float[] scores, SamplingOptions options, ref RandomStream random)
    {
        double inv = 1 / options.Temperature;
        int[] candidates = Candidates(scores, options, inv);
        float max = scores[candidates[0]];
        foreach (int i in candidates) max = Math.Max(max, scores[i]);
        var weight = new Dictionary<int, double>(candidates.Length);
        foreach (int i in candidates) weight[i] = Math.Exp((scores[i] - max) * inv);
        // Candidates in descending order (ties by id), so the draw is the same on every run.
        Array.Sort(candidates, (a, b) => weight[b].CompareTo(weight[a]) is var c && c != 0 ? c : a.CompareTo(b));
        int keep = candidates.Length;
        if (options.TopK > 0) keep = Math.Min(keep, options.TopK);
        double mass = 0;
        for (int j = 0; j < keep; j++) mass += weight[candidates[j]];
        if (options.TopP < 1)
        {
            // Renormalized after top-k, as Hugging Face's warpers chain; the token that crosses p stays.
            double cumulative = 0;
            for (int j = 0; j < keep; j++)
            {
                cumulative += weight[candidates[j]] / mass;
                if (cumulative >= options.TopP) { keep = j + 1; break; }
            }
        }
        if (options.MinP > 0)
        {
            double floor = options.MinP * weight[candidates[0]];
            int j = 1;
            while (j < keep && weight[candidates[j]] >= floor) j++;
            keep = j;
        }

        double kept = 0;
        for (int j = 0; j < keep; j++) kept += weight[candidates[j]];
        double u = random.NextDouble() * kept;
        for (int j = 0; j < keep; j++)
        {
            u -= weight[candidates[j]];
            if (u < 0) return candidates[j];
        }
        return candidates[keep - 1];
    }

    /// <summary>
    /// The tokens truncation can keep, found without sorting the vocabulary: with top-k, those at or
    /// above the k-th largest score; with top-p alone, those at or above (1 - p) / V in probability
    /// (everything below holds less than 1 - p of the mass together, so top-p always drops it).
    /// </summary>
    static int[] Candidates(float[] scores, SamplingOptions options, double inv)
    {
        int v = scores.Length;
        float threshold = float.NegativeInfinity;
        if (options.TopK > 0 && options.TopK < v)
        {
            var heap = new PriorityQueue<int, float>(options.TopK + 1);
            for (int i = 0; i < v; i++)
            {
                if (heap.Count == options.TopK && heap.TryPeek(out _, out float least) && scores[i] <= least) continue;
                heap.Enqueue(i, scores[i]);
                if (heap.Count > options.TopK) heap.Dequeue();
            }
            heap.TryPeek(out _, out threshold);
        }
        else if (options.TopP < 1)
        {
            float max = scores.Max();
            double total = 0;
            foreach (float x in scores) total += Math.Exp((x - max) * inv);
            // p_i >= floor  <=>  score_i >= max + T * log(floor * total)
            threshold = (float)(max + Math.Log((1 - options.TopP) / v * total) / inv);
        }
        var list = new List<int>();
        for (int i = 0; i < v; i++) if (scores[i] >= threshold) list.Add(i);
        return list.ToArray();
    }

    static int ArgMax(float[] scores)
    {
        int best = 0;
        for (int i = 1; i < scores.Length; i++) if (scores[i] > scores[best]) best = i;
        return best;
    }

    static double LogSumExp(ReadOnlySpan<float> x)
    {
        float max = float.NegativeInfinity;
        foreach (float f in x) if (f > max) max = f;
        double sum = 0;
        foreach (float f in x) sum += Math.Exp(f - max);
        return max + Math.Log(sum);
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
