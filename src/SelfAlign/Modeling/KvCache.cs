using TorchSharp;
using static TorchSharp.torch;

namespace SelfAlign.Modeling;

/// <summary>
/// Keys and values of the positions a batch has seen, for incremental decoding. The cache owns
/// preallocated buffers [batch, kv_heads, capacity, head_dim] per layer (grown by doubling when
/// full), the attention mask of the cached positions (padding stays masked forever) and each
/// row's next position id. One forward call appends the same number of slots to every row.
/// </summary>
public sealed class KvCache : IDisposable
{
    readonly Tensor[] _keys;
    readonly Tensor[] _values;

    /// <summary>Creates an empty cache for <paramref name="batchSize"/> rows.</summary>
    public KvCache(ModelConfig config, int batchSize, int capacity, ScalarType dtype, Device device)
    {
        Config = config;
        BatchSize = batchSize;
        Capacity = Math.Max(1, capacity);
        _keys = new Tensor[config.NumLayers];
        _values = new Tensor[config.NumLayers];
        for (int i = 0; i < config.NumLayers; i++)
        {
            _keys[i] = Buffer(dtype, device);
            _values[i] = Buffer(dtype, device);
        }
        Mask = torch.ones(batchSize, 0, ScalarType.Bool, device).DetachFromDisposeScope();
        NextPosition = torch.zeros(batchSize, ScalarType.Int64, device).DetachFromDisposeScope();
    }

    /// <summary>The architecture the cache was made for.</summary>
    public ModelConfig Config { get; }
    /// <summary>Rows in the batch.</summary>
    public int BatchSize { get; private set; }
    /// <summary>Slots filled in every row (padding included).</summary>
    public int Length { get; private set; }
    /// <summary>Slots allocated per row.</summary>
    public int Capacity { get; private set; }
    /// <summary>True once any row has a masked (padding) slot.</summary>
    public bool HasPadding { get; private set; }
    /// <summary>[batch, length] bool: which cached slots hold real tokens.</summary>
    internal Tensor Mask { get; private set; }
    /// <summary>[batch] int64: the position id the next real token of each row gets.</summary>
    internal Tensor NextPosition { get; private set; }

    // The cache outlives the forward calls' dispose scopes, so its tensors never join one. Unused
    // slots are zeros: a decode step attends over whole buffers with those slots masked, and
    // uninitialized memory could hold NaNs that a mask cannot cancel.
    Tensor Buffer(ScalarType dtype, Device device, int? capacity = null) =>
        torch.zeros([BatchSize, Config.NumKvHeads, capacity ?? Capacity, Config.HeadDim], dtype, device).DetachFromDisposeScope();

    /// <summary>Layer <paramref name="layer"/>'s key buffer [batch, kv_heads, capacity, head_dim].</summary>
    internal Tensor Keys(int layer) => _keys[layer];
    /// <summary>Layer <paramref name="layer"/>'s value buffer, shaped as the keys.</summary>
    internal Tensor Values(int layer) => _values[layer];

    /// <summary>Makes room for <paramref name="extra"/> more slots, doubling the buffers when needed.</summary>
    internal void Reserve(int extra)
    {
        int needed = Length + extra;
        if (needed <= Capacity) return;
        int capacity = Math.Max(needed, Capacity * 2);
        for (int i = 0; i < _keys.Length; i++)
        {
            _keys[i] = Grow(_keys[i], capacity);
            _values[i] = Grow(_values[i], capacity);
        }
        Capacity = capacity;
    }

    Tensor Grow(Tensor old, int capacity)
    {
        var grown = Buffer(old.dtype, old.device, capacity);
        using (var head = grown.narrow(2, 0, Length))
        using (var kept = old.narrow(2, 0, Length))
            head.copy_(kept);
        old.Dispose();
        return grown;
    }

    /// <summary>
    /// Writes the new keys and values [batch, kv_heads, t, head_dim] of one layer after the cached
    /// slots and returns views of all slots so far. <see cref="Commit"/> ends the step.
    /// </summary>
    internal (Tensor Keys, Tensor Values) Append(int layer, Tensor keys, Tensor values)
    {
        long t = keys.shape[2];
        using (var k = _keys[layer].narrow(2, Length, t)) k.copy_(keys);
        using (var v = _values[layer].narrow(2, Length, t)) v.copy_(values);
        return (_keys[layer].narrow(2, 0, Length + t), _values[layer].narrow(2, 0, Length + t));
    }

    /// <summary>Records a finished step: the full mask of all slots and the rows' next positions.</summary>
    internal void Commit(int added, Tensor fullMask, Tensor nextPosition, bool addedPadding)
    {
        Length += added;
        Replace(Mask, fullMask, m => Mask = m);
        Replace(NextPosition, nextPosition, p => NextPosition = p);
        HasPadding |= addedPadding;
    }

    static void Replace(Tensor old, Tensor fresh, Action<Tensor> set)
    {
        if (ReferenceEquals(old, fresh)) return;
        fresh.DetachFromDisposeScope();
        set(fresh);
        old.Dispose();
    }

    /// <summary>Keeps only the given rows, in the given order (drops finished sequences, reorders beams).</summary>
    public void SelectRows(Tensor rows)
    {
        using var index = rows.to(ScalarType.Int64, Mask.device);
        for (int i = 0; i < _keys.Length; i++)
        {
            _keys[i] = Take(_keys[i], index);
            _values[i] = Take(_values[i], index);
        }
        Mask = Take(Mask, index);
        NextPosition = Take(NextPosition, index);
        BatchSize = (int)index.shape[0];
    }

    /// <summary>Repeats every row <paramref name="times"/> times in place (row r becomes rows r*times..): samples share a prompt's prefill.</summary>
    public void RepeatRows(int times)
    {
        using var index = torch.arange(Scalars.Of(0L), Scalars.Of(BatchSize), Scalars.One, ScalarType.Int64, Mask.device).repeat_interleave(times);
        SelectRows(index);
    }

    /// <summary>
    /// A new cache whose row i is a copy of row <paramref name="rows"/>[i] of this one, with room for
    /// <paramref name="capacity"/> slots: one prefilled prefix serves a batch of continuations.
    /// </summary>
    public KvCache Fork(long[] rows, int capacity)
    {
        var fork = new KvCache(Config, rows.Length, Math.Max(capacity, Length), _keys[0].dtype, _keys[0].device);
        using var scope = torch.NewDisposeScope();
        var index = torch.tensor(rows, device: Mask.device);
        for (int i = 0; i < _keys.Length; i++)
        {
            fork._keys[i].narrow(2, 0, Length).copy_(_keys[i].narrow(2, 0, Length).index_select(0, index));
            fork._values[i].narrow(2, 0, Length).copy_(_values[i].narrow(2, 0, Length).index_select(0, index));
        }
        fork.Length = Length;
        fork.HasPadding = HasPadding;
        fork.Commit(0, Mask.index_select(0, index), NextPosition.index_select(0, index), false);
        return fork;
    }

    static Tensor Take(Tensor old, Tensor index)
    {
        var taken = old.index_select(0, index).DetachFromDisposeScope();
        old.Dispose();
        return taken;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var t in _keys) t.Dispose();
        foreach (var t in _values) t.Dispose();
        Mask.Dispose();
        NextPosition.Dispose();
    }
}
