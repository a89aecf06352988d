using SelfAlign.Modeling;
using SelfAlign.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace SelfAlign.Inference;

/// <summary>
/// Batched sampling with a KV cache: requests are packed into waves of up to
/// <see cref="GeneratorOptions.MaxBatchRows"/> sequences; each prompt is prefilled once and its
/// cache copied to its samples; finished sequences are dropped from the batch so they stop
/// costing compute; completions are yielded as they finish.
/// </summary>
public sealed class Generator(CausalLm model, Tokenizer tokenizer)
{
    /// <summary>The token ids that end a sequence unless the sampling options name others: the model's and the tokenizer's eos.</summary>
    public IReadOnlyList<int> DefaultStopIds { get; } =
        model.Config.EosTokenIds.Concat(tokenizer.Special.EosId is int e ? [e] : []).Distinct().ToArray();

    /// <summary>Generates every sample of every request; <paramref name="onTokens"/> hears how many tokens each step produced.</summary>
    public IEnumerable<Completion> Generate(IReadOnlyList<GenerationRequest> requests, SamplingOptions sampling,
        GeneratorOptions? options = null, Action<int>? onTokens = null)
    {
        sampling.Validate();
        options ??= new GeneratorOptions();
        var sequences = requests.SelectMany((r, i) => (r.Only ?? Enumerable.Range(0, r.Samples)).Select(s => (Request: i, Sample: s))).ToList();
        foreach (var wave in sequences.Chunk(Math.Max(1, options.MaxBatchRows)))
            foreach (var completion in RunWave(requests, wave, sampling, options.SharePrefill, onTokens))
                yield return completion;
    }

    sealed class Sequence(int request, int sample, IReadOnlyList<int> prompt, ulong seed, bool penalize)
    {
        public readonly int Request = request, Sample = sample;
        public readonly List<int> Tokens = [];
        public readonly List<float> LogProbs = [];
        public readonly HashSet<int>? Seen = penalize ? [.. prompt] : null;
        public RandomStream Random = RandomStream.For(seed, sample);
        public FinishReason? Finished;
        public bool Reported;
    }

    IEnumerable<Completion> RunWave(IReadOnlyList<GenerationRequest> requests, (int Request, int Sample)[] wave,
        SamplingOptions sampling, bool sharePrefill, Action<int>? onTokens)
    {
        var stopIds = new HashSet<int>(sampling.StopTokenIds ?? DefaultStopIds);
        var seqs = wave.Select(w => new Sequence(w.Request, w.Sample, requests[w.Request].PromptIds, requests[w.Request].Seed,
            sampling.RepetitionPenalty != 1)).ToArray();

        // Prefill one row per distinct prompt (or per sequence), then give each sequence its prompt's row.
        var prefillRows = sharePrefill ? seqs.Select(s => s.Request).Distinct().ToArray() : seqs.Select(s => s.Request).ToArray();
        var rowOf = sharePrefill ? seqs.Select(s => Array.IndexOf(prefillRows, s.Request)).ToArray() : Enumerable.Range(0, seqs.Length).ToArray();
        int longest = prefillRows.Max(r => requests[r].PromptIds.Count);
        if (longest == 0) throw new ArgumentException("a prompt has no tokens");

        using var cache = model.CreateCache(prefillRows.Length, longest + sampling.MaxNewTokens);
        float[] logits = Prefill(prefillRows.Select(r => requests[r].PromptIds).ToArray(), cache);
        if (sharePrefill && rowOf.Length != prefillRows.Length)
            using (var index = torch.tensor(rowOf.Select(r => (long)r).ToArray())) cache.SelectRows(index);

        var active = Enumerable.Range(0, seqs.Length).ToList();   // cache row -> sequence
        int vocab = model.Config.VocabSize;
        var logitRow = rowOf.ToArray();                            // sequence position in active -> logits row
        while (true)
        {
            var picked = new (int Token, float LogProb)[active.Count];
            Parallel.For(0, active.Count, i =>
            {
                var seq = seqs[active[i]];
                if (seq.Finished is not null) return;
                picked[i] = Sampler.Sample(logits.AsSpan(logitRow[i] * vocab, vocab), tokenizer.VocabSize, sampling, seq.Seen, ref seq.Random);
            });
            int produced = 0;
            for (int i = 0; i < active.Count; i++)
            {
                var seq = seqs[active[i]];
                if (seq.Finished is not null) continue;
                produced++;
                Advance(seq, picked[i], sampling, stopIds);
            }
            onTokens?.Invoke(produced);
            foreach (var seq in active.Select(i => seqs[i]).Where(s => s.Finished is not null && !s.Reported))
            {
                seq.Reported = true;
                string text = CutAtStop(tokenizer.Decode(seq.Tokens, skipSpecialTokens: true), sampling.StopStrings);
                yield return new Completion(seq.Request, seq.Sample, seq.Tokens, seq.LogProbs, text, seq.Finished!.Value);
            }

            int alive = active.Count(i => seqs[i].Finished is null);
            if (alive == 0) yield break;
            // Drop finished rows once they are a quarter of the batch: a cache copy costs about one step.
            if (active.Count - alive >= Math.Max(1, active.Count / 4))
            {
                var keep = Enumerable.Range(0, active.Count).Where(i => seqs[active[i]].Finished is null).ToArray();
                using (var index = torch.tensor(keep.Select(k => (long)k).ToArray())) cache.SelectRows(index);
                active = keep.Select(k => active[k]).ToList();
            }
            // The last step's logits are spent: their array takes the next step's (a fresh 6 MB array a step cost more than the copy).
            logits = Step(active.Select(i => seqs[i].Tokens.Count > 0 ? seqs[i].Tokens[^1] : 0).ToArray(), cache, logits);
            logitRow = Enumerable.Range(0, active.Count).ToArray();
        }
    }

    void Advance(Sequence seq, (int Token, float LogProb) pick, SamplingOptions sampling, HashSet<int> stopIds)
    {
        if (stopIds.Contains(pick.Token)) { seq.Finished = FinishReason.Stop; return; }
        seq.Tokens.Add(pick.Token);
        seq.LogProbs.Add(pick.LogProb);
        seq.Seen?.Add(pick.Token);
        if (sampling.StopStrings.Count > 0)
        {
            string text = tokenizer.Decode(seq.Tokens, skipSpecialTokens: true);
            if (sampling.StopStrings.Any(s => text.Contains(s, StringComparison.Ordinal))) { seq.Finished = FinishReason.Stop; return; }
        }
        if (seq.Tokens.Count >= sampling.MaxNewTokens) seq.Finished = FinishReason.Length;
    }

    static string CutAtStop(string text, IReadOnlyList<string> stops)
    {
        int cut = text.Length;
        foreach (var s in stops)
        {
            int at = text.IndexOf(s, StringComparison.Ordinal);
            if (at >= 0 && at < cut) cut = at;
        }
        return text[..cut];
    }

    float[] Prefill(IReadOnlyList<int>[] prompts, KvCache cache)
    {
        using var scope = torch.NewDisposeScope();
        var (input, attention) = LeftPadding.Pack(prompts);
        return NativeTensor.ToArray<float>(model.Forward(input, attention, cache, LogitPositions.Last));
    }

    float[] Step(int[] lastTokens, KvCache cache, float[] reuse)
    {
        using var scope = torch.NewDisposeScope();
        var input = torch.tensor(lastTokens.Select(t => (long)t).ToArray(), [lastTokens.Length, 1]);
        return NativeTensor.ToArray(model.Forward(input, null, cache, LogitPositions.Last), reuse);
    }
}
