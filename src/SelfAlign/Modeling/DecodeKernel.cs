using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using TorchSharp;
using static TorchSharp.torch;

namespace SelfAlign.Modeling;

/// <summary>
/// A decode step of one row (one new token) of a bf16 model on the CPU, computed without
/// libtorch: through libtorch a step pays for about 45 small native calls per layer, which cost
/// more than streaming the weights. Matrix-vector products read each bf16 weight once, split by
/// output rows across <see cref="SpinWorkers"/>, as are the attention heads; the small element-wise
/// steps run on the calling thread. Activations are rounded to bf16 wherever the libtorch path
/// rounds them (linear outputs, norms, RoPE, attention, the residual stream), so the two paths
/// differ only by summation order. Covers Llama-style blocks (RMSNorm, gated SiLU MLP, full
/// rotary) without biases, q/k norms, soft-caps, embedding scale, sliding windows or an adapter;
/// <see cref="Supports"/> says when it applies.
/// </summary>
/// <remarks>
/// One row only: .NET has no bf16 dot-product instructions, so the products run as float32 FMAs.
/// At one row they wait on memory; at 8 rows they are compute-bound and libtorch's bf16 GEMMs
/// win (38-58 ms against 25-33 ms a step, SmolLM2-135M shape, 2 cores). The methods are compiled
/// optimized from their first call: tiered compilation would run the first steps' loops unoptimized.
/// </remarks>
internal static unsafe class DecodeKernel
{
    /// <summary>True when <paramref name="model"/> can decode a step of <paramref name="rows"/> rows here.</summary>
    public static bool Supports(CausalLm model, int rows)
    {
        var c = model.Config;
        return rows == 1 && model.DType == ScalarType.BFloat16 && model.Device.type == DeviceType.CPU
            && model.Adapter is null && !torch.is_grad_enabled() && Vector512.IsHardwareAccelerated
            && c.Norm == NormKind.Rms && !c.SandwichNorms && c.GatedMlp && c.Activation == Activation.Silu
            && !c.AttentionBias && !c.OutputBias && !c.MlpBias && !c.QkNorm && c.RotaryDim == c.HeadDim
            && c.RopeScaling is not { Type: "longrope" } && c.AttentionSoftcap is null && c.FinalLogitSoftcap is null
            && !c.ScaleEmbeddings && c.LocalRopeTheta is null && c.SlidingWindows.All(w => w is null)
            && c.HiddenSize % 32 == 0 && c.IntermediateSize % 32 == 0 && c.HeadDim % 32 == 0;
    }

    /// <summary>
    /// Appends one token to the one-row <paramref name="cache"/> and returns float32 logits [1, 1,
    /// vocab or |subset|] of the new position, as <see cref="CausalLm.Forward"/> does.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static Tensor Step(CausalLm model, Tensor inputIds, KvCache cache, Tensor? vocabSubset)
    {
        using var scope = torch.NewDisposeScope();
        var c = model.Config;
        int hidden = c.HiddenSize, d = c.HeadDim, h = c.NumHeads, kvh = c.NumKvHeads, inter = c.IntermediateSize;
        long token = inputIds.to(ScalarType.Int64).flatten().data<long>()[0];
        cache.Reserve(1);
        int past = cache.Length;
        long position = cache.NextPosition.data<long>()[0];
        var cached = past > 0 && cache.HasPadding ? cache.Mask.contiguous() : null;
        byte* mask = cached is null ? null : (byte*)NativeTensor.Pointer(cached);

        var (cos, sin) = Rope(model, position);
        var x = new float[hidden];
        var normed = new float[hidden];
        var qkv = new float[(h + 2 * kvh) * d];
        var attended = new float[h * d];
        var projected = new float[hidden];
        var gateUp = new float[2 * inter];
        var act = new float[inter];
        var split = new float[Math.Max(inter, Math.Max(hidden, h * d))];
        var embedding = (ushort*)NativeTensor.Pointer(model.Embedding);
        for (int i = 0; i < hidden; i++) x[i] = FromBf16(embedding[token * hidden + i]);

        for (int l = 0; l < c.NumLayers; l++)
        {
            var layer = model.Layers[l];
            RmsNorm(x, layer.Norms[NormRole.Input].Weight, normed, (float)c.NormEps);
            Gemv(layer.Attention.QkvWeight, normed, qkv, split);
            for (int head = 0; head < h + kvh; head++) Rotate(qkv.AsSpan(head * d, d), cos, sin);
            var keys = (ushort*)NativeTensor.Pointer(cache.Keys(l));
            var values = (ushort*)NativeTensor.Pointer(cache.Values(l));
            for (int g = 0; g < kvh; g++)
            {
                long at = ((long)g * cache.Capacity + past) * d;
                for (int i = 0; i < d; i++)
                {
                    keys[at + i] = ToBf16(qkv[(h + g) * d + i]);
                    values[at + i] = ToBf16(qkv[(h + kvh + g) * d + i]);
                }
            }
            fixed (float* q = qkv)
            fixed (float* o = attended)
                DecodeAttention.Attend(q, (h + 2 * kvh) * d, cache, l, mask, o, c);
            Gemv(layer.Attention.OutputWeight, attended, projected, split);
            AddRounded(x, projected);
            RmsNorm(x, layer.Norms[NormRole.PreMlp].Weight, normed, (float)c.NormEps);
            Gemv(layer.Mlp.InputWeight, normed, gateUp, split);
            SwiGlu(gateUp, act);
            Gemv(layer.Mlp.DownWeight, act, projected, split);
            AddRounded(x, projected);
        }

        RmsNorm(x, model.FinalNorm.Weight, normed, (float)c.NormEps);
        var lmHead = vocabSubset is null ? model.OutputWeight : model.OutputWeight.index_select(0, vocabSubset.to(ScalarType.Int64)).contiguous();
        int vocab = (int)lmHead.shape[0];
        var logits = torch.empty([1, 1, vocab], ScalarType.Float32);
        Gemv(lmHead, normed, new Span<float>(NativeTensor.Pointer(logits), vocab), split);

        cache.Commit(1, torch.cat([cache.Mask, torch.ones(1, 1, ScalarType.Bool)], 1), cache.NextPosition.add(Scalars.One, Scalars.One), false);
        return logits.MoveToOuterDisposeScope();
    }

    // cos and signed sin of the position [head_dim], rounded to bf16 as the libtorch path's tables are.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static (float[] Cos, float[] Sin) Rope(CausalLm model, long position)
    {
        int d = model.Config.HeadDim, half = d / 2;
        var invFreq = model.InverseFrequencies;
        var cos = new float[d];
        var sin = new float[d];
        for (int i = 0; i < half; i++)
        {
            float angle = position * invFreq[i];
            cos[i] = cos[half + i] = Round(MathF.Cos(angle));
            float s = Round(MathF.Sin(angle));
            sin[i] = -s;   // rotate_half's sign folded in
            sin[half + i] = s;
        }
        return (cos, sin);
    }

    // x * cos + roll(x, half) * signed sin, each product and the sum rounded to bf16 (head_dim a multiple of 32).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Rotate(Span<float> x, float[] cos, float[] sin)
    {
        int d = x.Length, half = d / 2;
        fixed (float* xp = x)
        fixed (float* cp = cos)
        fixed (float* sp = sin)
        {
            Span<float> rotated = stackalloc float[d];
            for (int i = 0; i < d; i += 16)
            {
                var v = Vector512.Load(xp + i);
                var partner = Vector512.Load(xp + (i + half) % d);
                Round(Round(v * Vector512.Load(cp + i)) + Round(partner * Vector512.Load(sp + i))).CopyTo(rotated[i..]);
            }
            rotated.CopyTo(x);
        }
    }

    // float32 statistics, the normalized value rounded to bf16, then scaled by the bf16 weight and rounded again.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void RmsNorm(float[] x, Tensor weight, float[] output, float eps)
    {
        var w = (ushort*)NativeTensor.Pointer(weight);
        float inverse = 1 / MathF.Sqrt(TensorPrimitives.SumOfSquares(x) / x.Length + eps);
        var scale = Vector512.Create(inverse);
        fixed (float* xp = x)
        fixed (float* op = output)
            for (int i = 0; i < x.Length; i += 32)
            {
                var (low, high) = Vector512.Widen(Vector512.Load(w + i));
                Round(Round(Vector512.Load(xp + i) * scale) * Vector512.ShiftLeft(low, 16).AsSingle()).Store(op + i);
                Round(Round(Vector512.Load(xp + i + 16) * scale) * Vector512.ShiftLeft(high, 16).AsSingle()).Store(op + i + 16);
            }
    }

    // silu(gate) rounded, times up, rounded: the gated MLP's two element-wise steps.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void SwiGlu(float[] gateUp, float[] act)
    {
        int inter = act.Length;
        fixed (float* g = gateUp)
        fixed (float* a = act)
            for (int i = 0; i < inter; i += 16)
            {
                var gate = Vector512.Load(g + i);
                var silu = Round(gate / (Vector512<float>.One + Vector512.Exp(-gate)));
                Round(silu * Vector512.Load(g + inter + i)).Store(a + i);
            }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void AddRounded(float[] x, float[] delta)
    {
        fixed (float* xp = x)
        fixed (float* dp = delta)
            for (int i = 0; i < x.Length; i += 16) Round(Vector512.Load(xp + i) + Vector512.Load(dp + i)).Store(xp + i);
    }

    /// <summary>
    /// output[o] = bf16(Σ_i w[o, i] x[i]) for a bf16 weight [outputs, inputs], the outputs split
    /// across the workers. Each 32-weight block is read as 16 pairs: shifting a pair left by 16 bits
    /// gives the even weight as a float, masking the low half gives the odd one, so the input is
    /// laid out even-then-odd per block beforehand (in <paramref name="split"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Gemv(Tensor weight, float[] x, Span<float> output, float[] split)
    {
        int inputs = x.Length, outputs = output.Length;
        for (int b = 0; b < inputs; b += 32)
            for (int i = 0; i < 16; i++)
            {
                split[b + i] = x[b + 2 * i];
                split[b + 16 + i] = x[b + 2 * i + 1];
            }
        var w = (uint*)NativeTensor.Pointer(weight);
        fixed (float* xs = split)
        fixed (float* ys = output)
        {
            float* xp = xs, yp = ys;
            var workers = SpinWorkers.Shared;
            int parts = workers.Parts;
            workers.Run(part => Rows(w, xp, yp, inputs, (int)((long)outputs * part / parts), (int)((long)outputs * (part + 1) / parts)));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Rows(uint* w, float* x, float* y, int inputs, int start, int end)
    {
        var high = Vector512.Create(0xFFFF0000u);
        for (int o = start; o < end; o++)
        {
            var row = w + (long)o * inputs / 2;
            Vector512<float> even = default, odd = default;
            for (int b = 0; b < inputs; b += 32)
            {
                var pair = Vector512.Load(row + b / 2);
                even = Vector512.FusedMultiplyAdd(Vector512.ShiftLeft(pair, 16).AsSingle(), Vector512.Load(x + b), even);
                odd = Vector512.FusedMultiplyAdd((pair & high).AsSingle(), Vector512.Load(x + b + 16), odd);
            }
            y[o] = Round(Vector512.Sum(even + odd));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static float FromBf16(ushort bits) => BitConverter.Int32BitsToSingle(bits << 16);

    /// <summary>Round to nearest even bf16, as libtorch converts float32 to bfloat16.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static ushort ToBf16(float value)
    {
        if (float.IsNaN(value)) return 0x7FC0;
        uint bits = BitConverter.SingleToUInt32Bits(value);
        return (ushort)((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static float Round(float value) => FromBf16(ToBf16(value));

    /// <summary>Round to nearest even bf16, 16 lanes at once (activations are finite).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> Round(Vector512<float> value)
    {
        var bits = value.AsUInt32();
        var odd = Vector512.ShiftRightLogical(bits, 16) & Vector512<uint>.One;
        return ((bits + Vector512.Create(0x7FFFu) + odd) & Vector512.Create(0xFFFF0000u)).AsSingle();
    }
}
