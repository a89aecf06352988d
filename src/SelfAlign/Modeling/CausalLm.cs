using SelfAlign.Modeling.Lora;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace SelfAlign.Modeling;

/// <summary>Which positions a forward pass turns into logits.</summary>
public enum LogitPositions
{
    /// <summary>Every input position.</summary>
    All,
    /// <summary>Only the last input position of each row (what generation and judges need).</summary>
    Last,
}

/// <summary>
/// A decoder-only transformer (Llama, Mistral, Qwen2/3, Phi-3, Gemma 1/2/3, Starcoder2 and their
/// derivatives) parameterized by <see cref="ModelConfig"/>: embeddings, pre-norm blocks of
/// grouped-query attention and a gated or plain MLP, a final norm and an LM head, tied or not.
/// Weights live on one device in one compute dtype.
/// </summary>
public sealed class CausalLm : IDisposable
{
    readonly DecoderLayer[] _layers;
    readonly RotaryEmbedding _rope;
    // Gemma 3's RoPE of its sliding-window layers.
    readonly RotaryEmbedding? _localRope;
    // Gemma's √hidden, rounded to the compute dtype as the reference rounds it.
    readonly Tensor? _embeddingScale;

    internal CausalLm(ModelConfig config, Device device, ScalarType dtype, Tensor embedding, DecoderLayer[] layers,
        Norm finalNorm, Tensor? lmHead, RotaryEmbedding rope, RotaryEmbedding? localRope)
    {
        Config = config;
        Device = device;
        DType = dtype;
        Embedding = embedding;
        _layers = layers;
        FinalNorm = finalNorm;
        LmHeadWeight = lmHead;
        _rope = rope;
        _localRope = localRope;
        if (config.ScaleEmbeddings)
            _embeddingScale = torch.tensor(Math.Sqrt(config.HiddenSize), dtype, device).DetachFromDisposeScope();
    }

    /// <summary>
    /// Builds a model from weights already in memory, by Hugging Face name (any dtype, CPU). The
    /// tensors are copied into the model's layout; the caller keeps ownership of the originals.
    /// </summary>
    public static CausalLm FromWeights(ModelConfig config, IReadOnlyDictionary<string, Tensor> weights, LoadOptions? options = null)
    {
        options ??= new LoadOptions();
        return CheckpointMapping.Build(config, name => weights.TryGetValue(name, out var t) ? t.alias()
            : throw new ArgumentException($"missing tensor '{name}'"), options.Device ?? torch.CPU, options.ComputeType);
    }

    /// <summary>The architecture.</summary>
    public ModelConfig Config { get; }
    /// <summary>Where the weights live.</summary>
    public Device Device { get; }
    /// <summary>The compute dtype (bfloat16 or float32).</summary>
    public ScalarType DType { get; }
    internal Tensor Embedding { get; }
    internal Norm FinalNorm { get; }
    internal Tensor? LmHeadWeight { get; }
    internal IReadOnlyList<DecoderLayer> Layers => _layers;

    /// <summary>
    /// The low-rank adapter applied on top of the weights, or null. The model does not own it:
    /// detaching (setting null) leaves it intact.
    /// </summary>
    public LoraAdapter? Adapter
    {
        get => _adapter;
        set
        {
            if (value is not null && (value.Model.NumLayers != Config.NumLayers || value.Model.HiddenSize != Config.HiddenSize
                || value.Model.IntermediateSize != Config.IntermediateSize || value.Model.NumKvHeads != Config.NumKvHeads))
                throw new ArgumentException("the adapter was made for a different architecture");
            _adapter = value;
        }
    }
    LoraAdapter? _adapter;

    /// <summary>
    /// Decode steps of a single row of a bf16 model on the CPU run through a dedicated kernel where
    /// the architecture allows (on by default); off, they run through libtorch like every other
    /// forward pass.
    /// </summary>
    public bool FastDecode { get; set; } = true;

    /// <summary>RoPE frequencies, as the decode kernel reads them.</summary>
    internal float[] InverseFrequencies => _inverseFrequencies ??= _rope.Frequencies();
    float[]? _inverseFrequencies;

    /// <summary>The output projection [vocab, hidden]: the embedding matrix when tied.</summary>
    internal Tensor OutputWeight => LmHeadWeight ?? Embedding;

    /// <summary>A KV cache for this model with room for <paramref name="capacity"/> positions per row.</summary>
    public KvCache CreateCache(int batchSize, int capacity) => new(Config, batchSize, capacity, DType, Device);

    /// <summary>
    /// Runs the model on <paramref name="inputIds"/> [batch, seq] (int64) and returns float32 logits
    /// [batch, seq or 1, vocab or |subset|].
    /// </summary>
    /// <param name="inputIds">Token ids. Rows of different lengths are left-padded.</param>
    /// <param name="attentionMask">[batch, seq], 1 for real tokens and 0 for padding; null when nothing is padded.</param>
    /// <param name="cache">Keys and values of earlier positions; the new ones are appended to it.</param>
    /// <param name="positions">Which positions produce logits.</param>
    /// <param name="vocabSubset">Token ids to project onto instead of the whole vocabulary (judges read a few label tokens).</param>
    public Tensor Forward(Tensor inputIds, Tensor? attentionMask = null, KvCache? cache = null,
        LogitPositions positions = LogitPositions.All, Tensor? vocabSubset = null)
    {
        if (FastDecode && cache is not null && attentionMask is null && inputIds.shape[1] == 1 && cache.Length > 0
            && DecodeKernel.Supports(this, (int)inputIds.shape[0]))
            return DecodeKernel.Step(this, inputIds, cache, vocabSubset);
        using var scope = torch.NewDisposeScope();
        var hidden = Hidden(inputIds, attentionMask, cache);
        if (positions == LogitPositions.Last) hidden = hidden.narrow(1, hidden.shape[1] - 1, 1);
        var head = vocabSubset is null ? OutputWeight : OutputWeight.index_select(0, vocabSubset.to(ScalarType.Int64, Device));
        return Logits(FinalNorm.Apply(hidden), head).MoveToOuterDisposeScope();
    }

    /// <summary>float32 logits of normed hidden states, soft-capped where the family caps them (Gemma 2, 3).</summary>
    Tensor Logits(Tensor normed, Tensor head)
    {
        var logits = F.linear(normed, head).to(ScalarType.Float32);
        return Config.FinalLogitSoftcap is double cap ? logits.div(Scalars.Of(cap)).tanh().mul(Scalars.Of(cap)) : logits;
    }

    /// <summary>
    /// log p(token) summed over the marked tokens of each row, float32 [batch], differentiable
    /// through the adapter (or the weights, when they require grad). Rows are right-padded:
    /// position i's logits score token i + 1, and causal attention keeps padding after a row's
    /// end from reaching its real tokens, so no attention mask is needed. Only the marked
    /// positions are projected onto the vocabulary.
    /// </summary>
    /// <param name="inputIds">[batch, seq] token ids.</param>
    /// <param name="scored">[batch, seq] bool, true for each token whose log-probability counts (never position 0).</param>
    public Tensor SequenceLogProbs(Tensor inputIds, Tensor scored)
    {
        using var scope = torch.NewDisposeScope();
        long b = inputIds.shape[0], t = inputIds.shape[1];
        var hidden = Hidden(inputIds, null, null).narrow(1, 0, t - 1).reshape(b * (t - 1), Config.HiddenSize);
        var picked = scored.to(Device).narrow(1, 1, t - 1).flatten().nonzero().squeeze(1);
        var targets = inputIds.to(ScalarType.Int64, Device).narrow(1, 1, t - 1).flatten().index_select(0, picked);
        var logProbs = Logits(FinalNorm.Apply(hidden.index_select(0, picked)), OutputWeight).log_softmax(-1)
            .gather(1, targets.unsqueeze(1)).squeeze(1);
        var rows = picked.div(Scalars.Of(t - 1), rounding_mode: RoundingMode.floor);
        return torch.zeros(b, ScalarType.Float32, Device).index_add(0, rows, logProbs, Scalars.One).MoveToOuterDisposeScope();
    }

    /// <summary>The residual stream after the last block (before the final norm), [batch, seq, hidden].</summary>
    Tensor Hidden(Tensor inputIds, Tensor? attentionMask, KvCache? cache)
    {
        long b = inputIds.shape[0], t = inputIds.shape[1];
        if (cache is not null && cache.BatchSize != b)
            throw new ArgumentException($"cache holds {cache.BatchSize} rows, input has {b}");
        var ids = inputIds.to(ScalarType.Int64, Device);
        int past = cache?.Length ?? 0;

        var newMask = attentionMask is null ? torch.ones(b, t, ScalarType.Bool, Device) : attentionMask.to(ScalarType.Bool, Device);
        bool newPadding = attentionMask is not null && !newMask.all().item<bool>();
        bool padded = newPadding || (cache?.HasPadding ?? false);
        var fullMask = cache is null ? newMask : torch.cat([cache.Mask, newMask], 1);

        // Position ids count real tokens only, so a left-padded row starts at 0 like an unpadded one.
        var counts = newMask.to(ScalarType.Int64).cumsum(1);
        var start = cache?.NextPosition.unsqueeze(1) ?? torch.zeros(b, 1, ScalarType.Int64, Device);
        var positionIds = counts.add(start, Scalars.One).sub(Scalars.One).clamp_min(Scalars.Of(0L));
        var (cos, sin) = _rope.Tables(positionIds, DType);

        // One mask per distinct window, built here so that it outlives each layer's own dispose scope.
        // The CPU attends through MatmulAttention, which always takes a mask, wherever there is more
        // than one query (many positions, or one position of many rows: libtorch's fused kernel took
        // 16 ms a step for 32 decoding rows of the SmolLM2-135M shape, the GEMMs 6 ms); the fused
        // kernel needs no mask for plain causal attention. Soft-capped scores (Gemma) are beyond the
        // fused kernel, so they always take the matmul path. A decode step through MatmulAttention
        // attends over the cache's whole buffers (see Attention), so its mask spans their capacity.
        int keys = past + (int)t;
        bool matmul = (t * b > 1 && Device.type == DeviceType.CPU) || Config.AttentionSoftcap is not null;
        bool causalOnly = !matmul && !padded && (past == 0 || t == 1);
        if (cache is not null) cache.Reserve((int)t);
        int width = matmul && t == 1 && cache is not null ? cache.Capacity : keys;
        var masks = new Dictionary<int, Tensor?>();
        foreach (int? window in Config.SlidingWindows.Distinct())
        {
            bool windowBites = window is int w && keys > w;
            masks[window ?? -1] = causalOnly && !windowBites ? null : BuildMask(fullMask, past, (int)t, windowBites ? window : null, width);
        }
        var local = _localRope?.Tables(positionIds, DType);
        var ctx = new AttentionContext(cos, sin, local, masks, IsCausal: causalOnly && t > 1, Matmul: matmul, _adapter);

        var x = Embedding.index_select(0, ids.flatten()).view(b, t, Config.HiddenSize);
        if (_embeddingScale is not null) x = x.mul(_embeddingScale);
        for (int i = 0; i < _layers.Length; i++)
        {
            var next = _layers[i].Forward(x, ctx, i, cache);
            x.Dispose();
            x = next;
        }
        cache?.Commit((int)t, fullMask, start.squeeze(1).add(newMask.to(ScalarType.Int64).sum(1), Scalars.One), newPadding);
        return x;
    }

    /// <summary>
    /// [batch, 1, t, width] in the compute dtype, 0 where query i (at slot past + i) may attend to
    /// key j and -inf where not: j must be a real token, not in the future and, with a window,
    /// closer than the window. A query always sees itself, so padded query rows stay finite. Slots
    /// from past + t up to <paramref name="width"/> are masked.
    /// </summary>
    Tensor BuildMask(Tensor fullMask, int past, int t, int? window, int width)
    {
        if (width > past + t) fullMask = torch.cat([fullMask, torch.zeros(fullMask.shape[0], width - past - t, ScalarType.Bool, Device)], 1);
        var query = torch.arange(Scalars.Of(past), Scalars.Of(past + t), Scalars.One, ScalarType.Int64, Device).unsqueeze(1);
        var key = torch.arange(Scalars.Of(0L), Scalars.Of(width), Scalars.One, ScalarType.Int64, Device).unsqueeze(0);
        var allowed = key.le(query);
        if (window is int w) allowed = allowed.logical_and(query.sub(key).lt(Scalars.Of(w)));
        allowed = allowed.unsqueeze(0).logical_and(fullMask.unsqueeze(1));
        allowed = allowed.logical_or(key.eq(query).unsqueeze(0)).unsqueeze(1);
        return torch.zeros(allowed.shape, DType, Device).masked_fill_(allowed.logical_not(), Scalars.Of(double.NegativeInfinity));
    }

    /// <summary>Number of parameters (the tied LM head counted once).</summary>
    public long ParameterCount => Parameters().Sum(p => p.Tensor.numel());

    /// <summary>Every weight under its Hugging Face name, as views of the fused tensors.</summary>
    public IEnumerable<(string Name, Tensor Tensor)> Parameters() => CheckpointMapping.Split(this);

    /// <summary>The tensors full fine-tuning trains (fused, named after their first Hugging Face tensor).</summary>
    public IEnumerable<(string Name, Tensor Tensor)> TrainableWeights() => CheckpointMapping.Leaves(this);

    /// <inheritdoc />
    public void Dispose()
    {
        Embedding.Dispose();
        foreach (var layer in _layers) layer.Dispose();
        FinalNorm.Dispose();
        LmHeadWeight?.Dispose();
        _rope.Dispose();
        _localRope?.Dispose();
        _embeddingScale?.Dispose();
    }
}
