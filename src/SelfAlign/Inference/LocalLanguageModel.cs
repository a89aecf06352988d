using SelfAlign.Modeling;
using SelfAlign.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace SelfAlign.Inference;

/// <summary>How <see cref="LocalLanguageModel"/> batches its work.</summary>
public sealed record LocalModelOptions
{
    /// <summary>
    /// Score next tokens the fast way: shared prompt prefixes computed once, only the last position
    /// projected, batches bucketed by length. Off: the plain way, one prompt at a time through a full
    /// forward pass, which is the reference the fast path is tested against.
    /// </summary>
    public bool FastPath { get; init; } = true;
    /// <summary>Most padded tokens in one forward batch.</summary>
    public int MaxBatchTokens { get; init; } = 4096;
    /// <summary>Most rows in one forward batch.</summary>
    public int MaxBatchRows { get; init; } = 64;
    /// <summary>Fewest tokens a stretch shared by several prompts needs to be computed once for all of them.</summary>
    public int MinSharedPrefix { get; init; } = 16;
    /// <summary>Batching of <see cref="ILanguageModel.Generate"/>.</summary>
    public GeneratorOptions Generation { get; init; } = new();
    /// <summary>Chat-template variables bound to <see cref="ILanguageModel.Template"/> (e.g. enable_thinking).</summary>
    public IReadOnlyDictionary<string, System.Text.Json.JsonElement>? TemplateVariables { get; init; }
}

/// <summary><see cref="ILanguageModel"/> on a <see cref="CausalLm"/> in this process.</summary>
public sealed class LocalLanguageModel(CausalLm model, Tokenizer tokenizer, LocalModelOptions? options = null) : ILanguageModel
{
    readonly LocalModelOptions _options = options ?? new LocalModelOptions();
    readonly Generator _generator = new(model, tokenizer);

    /// <inheritdoc />
    public Tokenizer Tokenizer => tokenizer;
    /// <inheritdoc />
    public int MaxSequenceLength => model.Config.MaxPositionEmbeddings;
    /// <inheritdoc />
    public ChatTemplate Template { get; } = ChatTemplate.For(tokenizer, options?.TemplateVariables);
    /// <summary>The model behind the engine.</summary>
    public CausalLm Model => model;

    /// <inheritdoc />
    public IReadOnlyList<double[]> NextTokenLogProbs(IReadOnlyList<IReadOnlyList<int>> prompts, IReadOnlyList<int> tokenIds,
        Action<int>? onProgress = null)
    {
        foreach (var p in prompts) CheckLength(p.Count);
        var result = new double[prompts.Count][];
        using var labels = torch.tensor(tokenIds.Select(t => (long)t).ToArray());
        if (!_options.FastPath)
        {
            for (int i = 0; i < prompts.Count; i++)
            {
                using var scope = torch.NewDisposeScope();
                var logits = model.Forward(torch.tensor(prompts[i].Select(t => (long)t).ToArray(), [1, prompts[i].Count]));
                result[i] = Gather(logits.select(1, -1), labels)[0];
                onProgress?.Invoke(1);
            }
            return result;
        }

        var plan = PrefixPlan.Build(prompts, _options.MinSharedPrefix, _options.MaxBatchTokens, _options.MaxBatchRows);
        Score(plan.Batches, null);
        return result;

        // Each batch continues rows of its parent's cache, which lives while its continuations run.
        void Score(IReadOnlyList<PrefixPlan.Batch> batches, KvCache? parent)
        {
            foreach (var batch in batches)
            {
                using var scope = torch.NewDisposeScope();
                var rows = batch.Rows;
                var (ids, mask) = LeftPadding.Pack(rows.Select(r => (IReadOnlyList<int>)prompts[r.Source].Take(r.End).Skip(r.Start).ToArray()).ToArray());
                int width = (int)ids.shape[1];
                using var cache = parent?.Fork([.. rows.Select(r => (long)r.ParentRow)], parent.Length + width)
                    ?? (batch.Next.Count > 0 ? model.CreateCache(rows.Count, width) : null);
                var logits = Gather(model.Forward(ids, mask, cache, LogitPositions.Last).squeeze(1), labels);
                for (int r = 0; r < rows.Count; r++)
                    if (rows[r].Leaf) result[rows[r].Source] = logits[r];
                onProgress?.Invoke(rows.Count(r => r.Leaf));
                Score(batch.Next, cache);
            }
        }
    }

    /// <summary>log_softmax over the vocabulary of logits [rows, vocab], read at <paramref name="labels"/>.</summary>
    static double[][] Gather(Tensor logits, Tensor labels)
    {
        using var picked = logits.log_softmax(-1).index_select(1, labels.to(logits.device)).to(ScalarType.Float64);
        var flat = NativeTensor.ToArray<double>(picked);
        int k = (int)labels.shape[0];
        return Enumerable.Range(0, (int)picked.shape[0]).Select(r => flat.AsSpan(r * k, k).ToArray()).ToArray();
    }

    /// <inheritdoc />
    public IEnumerable<Completion> Generate(IReadOnlyList<GenerationRequest> requests, SamplingOptions sampling, Action<int>? onTokens = null)
    {
        foreach (var r in requests) CheckLength(r.PromptIds.Count + sampling.MaxNewTokens);
        return _generator.Generate(requests, sampling, _options.Generation, onTokens);
    }

    /// <inheritdoc />
    public IReadOnlyList<double> CompletionLogProbs(IReadOnlyList<(IReadOnlyList<int> Prompt, IReadOnlyList<int> Completion)> items,
        Action<int>? onProgress = null)
    {
        var result = new double[items.Count];
        var rows = items.Select(it =>
        {
            if (it.Prompt.Count == 0) throw new ArgumentException("a prompt has no tokens");
            CheckLength(it.Prompt.Count + it.Completion.Count);
            return (IReadOnlyList<int>)[.. it.Prompt, .. it.Completion];
        }).ToArray();
        var batches = PrefixPlan.LengthBuckets([.. Enumerable.Range(0, rows.Length)], i => rows[i].Count, _options.MaxBatchTokens, _options.MaxBatchRows);
        foreach (var batch in batches)
        {
            using var scope = torch.NewDisposeScope();
            var (ids, mask) = LeftPadding.Pack(batch.Select(i => rows[i]).ToArray());
            // Left-padded: completions fill the last columns, each token predicted one column earlier,
            // so only the last (longest completion + 1) columns need a log-softmax.
            int tail = batch.Max(i => items[i].Completion.Count) + 1;
            var logProbs = model.Forward(ids, mask).narrow(1, ids.shape[1] - tail, tail).log_softmax(-1);
            for (int r = 0; r < batch.Length; r++)
            {
                var completion = items[batch[r]].Completion;
                if (completion.Count == 0) continue;
                var predicted = logProbs[r].narrow(0, tail - completion.Count - 1, completion.Count);
                var targets = torch.tensor(completion.Select(t => (long)t).ToArray()).unsqueeze(1);
                result[batch[r]] = predicted.gather(1, targets).sum().to(ScalarType.Float64).item<double>();
            }
            onProgress?.Invoke(batch.Length);
        }
        return result;
    }

    /// <summary>
    /// Each token's log-probability after the tokens before it (the first has none: NaN), normalized
    /// over the whole vocabulary: what vLLM returns as <c>prompt_logprobs</c>.
    /// </summary>
    public double[] TokenLogProbs(IReadOnlyList<int> ids)
    {
        if (ids.Count == 0) throw new ArgumentException("no tokens");
        CheckLength(ids.Count);
        var result = new double[ids.Count];
        result[0] = double.NaN;
        if (ids.Count == 1) return result;
        using var scope = torch.NewDisposeScope();
        var logProbs = model.Forward(torch.tensor(ids.Select(t => (long)t).ToArray(), [1, ids.Count]))[0].narrow(0, 0, ids.Count - 1).log_softmax(-1);
        var targets = torch.tensor(ids.Skip(1).Select(t => (long)t).ToArray()).unsqueeze(1);
        var picked = logProbs.gather(1, targets).to(ScalarType.Float64).cpu().data<double>().ToArray();
        picked.CopyTo(result, 1);
        return result;
    }

    void CheckLength(int length)
    {
        if (length > MaxSequenceLength)
            throw new ArgumentException($"a sequence of {length} tokens exceeds the model's {MaxSequenceLength} positions");
    }
}
