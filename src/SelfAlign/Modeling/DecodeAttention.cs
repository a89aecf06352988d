using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using TorchSharp;
using static TorchSharp.torch;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace SelfAlign.Modeling;

/// <summary>
/// The decode kernel's attention: one new position per row over a bf16 KV cache read in place,
/// scores and softmax in float32, each KV group's query heads together so every key and value is
/// widened from bf16 once, the (row, group) pairs split across <see cref="SpinWorkers"/>.
/// </summary>
internal static unsafe class DecodeAttention
{
    /// <summary>
    /// The attention of every row's query heads into <paramref name="output"/> [rows, heads, head_dim],
    /// rounded to bf16 as a bf16 output would be. <paramref name="mask"/>: [rows, cache length] bytes,
    /// 0 at padding, or null where the cache has none; row r's query heads start at q + r * <paramref name="qStride"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Attend(float* q, int qStride, KvCache cache, int layer, byte* mask, float* output, ModelConfig c)
    {
        int h = c.NumHeads, kvh = c.NumKvHeads, d = c.HeadDim, group = h / kvh, past = cache.Length, capacity = cache.Capacity;
        int rows = cache.BatchSize, pairs = rows * kvh;
        float scale = (float)c.QueryScale;
        var keys = (ushort*)NativeTensor.Pointer(cache.Keys(layer));
        var values = (ushort*)NativeTensor.Pointer(cache.Values(layer));
        var workers = SpinWorkers.Shared;
        int parts = workers.Parts;
        var scores = new float[parts * group * (past + 1)];
        fixed (float* scratch = scores)
        {
            float* sp = scratch;
            workers.Run(part =>
            {
                for (int pair = pairs * part / parts; pair < pairs * (part + 1) / parts; pair++)
                {
                    int r = pair / kvh, g = pair % kvh;
                    long cached = ((long)r * kvh + g) * capacity * d;
                    AttendGroup(q + (long)r * qStride + g * group * d, keys + cached, values + cached, mask is null ? null : mask + (long)r * past,
                        past, group, d, scale, sp + (long)part * group * (past + 1), output + ((long)r * h + g * group) * d);
                }
            });
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void AttendGroup(float* q, ushort* k, ushort* v, byte* mask, int past, int group, int d, float scale, float* s, float* output)
    {
        int keys = past + 1;
        for (int j = 0; j < keys; j++)
        {
            bool hidden = j < past && mask is not null && mask[j] == 0;
            for (int head = 0; head < group; head++)
                s[head * keys + j] = hidden ? float.NegativeInfinity : Dot(q + head * d, k + (long)j * d, d) * scale;
        }
        for (int head = 0; head < group; head++)
        {
            var row = new Span<float>(s + head * keys, keys);
            TensorPrimitives.Subtract(row, TensorPrimitives.Max(row), row);
            TensorPrimitives.Exp(row, row);
            TensorPrimitives.Divide(row, TensorPrimitives.Sum(row), row);
        }
        new Span<float>(output, group * d).Clear();
        for (int j = 0; j < keys; j++)
            for (int i = 0; i < d; i += 32)
            {
                var (low, high) = Vector512.Widen(Vector512.Load(v + (long)j * d + i));
                var v0 = Vector512.ShiftLeft(low, 16).AsSingle();
                var v1 = Vector512.ShiftLeft(high, 16).AsSingle();
                for (int head = 0; head < group; head++)
                {
                    var p = Vector512.Create(s[head * keys + j]);
                    float* o = output + head * d + i;
                    Vector512.FusedMultiplyAdd(v0, p, Vector512.Load(o)).Store(o);
                    Vector512.FusedMultiplyAdd(v1, p, Vector512.Load(o + 16)).Store(o + 16);
                }
            }
        for (int i = 0; i < group * d; i += 16) DecodeKernel.Round(Vector512.Load(output + i)).Store(output + i);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static float Dot(float* q, ushort* k, int d)
    {
        var acc = Vector512<float>.Zero;
        for (int i = 0; i < d; i += 32)
        {
            var (low, high) = Vector512.Widen(Vector512.Load(k + i));
            acc = Vector512.FusedMultiplyAdd(Vector512.ShiftLeft(low, 16).AsSingle(), Vector512.Load(q + i), acc);
            acc = Vector512.FusedMultiplyAdd(Vector512.ShiftLeft(high, 16).AsSingle(), Vector512.Load(q + i + 16), acc);
        }
        return Vector512.Sum(acc);
    }
}
