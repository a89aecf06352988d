using System.Text.Json;
using System.Text.Json.Nodes;

namespace SelfAlign.Modeling;

/// <summary>How RoPE frequencies are rescaled for long contexts (<c>rope_scaling</c>).</summary>
/// <param name="Type"><c>linear</c>, <c>llama3</c> or <c>longrope</c> (Phi-3's, also called <c>su</c>).</param>
/// <param name="Factor">The scaling factor (longrope: max positions over the original ones).</param>
/// <param name="LowFreqFactor">llama3 only: wavelengths above <c>original / low</c> are divided by the factor.</param>
/// <param name="HighFreqFactor">llama3 only: wavelengths below <c>original / high</c> are kept.</param>
/// <param name="OriginalMaxPositionEmbeddings">llama3 and longrope: the pre-training context length.</param>
/// <param name="ShortFactor">longrope: per-frequency divisors while the sequence fits the original length.</param>
/// <param name="LongFactor">longrope: per-frequency divisors once it is longer.</param>
/// <param name="AttentionFactor">longrope: the scale of cos and sin, sqrt(1 + ln factor / ln original) unless the config sets it.</param>
public sealed record RopeScaling(
    string Type,
    double Factor,
    double LowFreqFactor = 1,
    double HighFreqFactor = 4,
    int OriginalMaxPositionEmbeddings = 8192,
    IReadOnlyList<double>? ShortFactor = null,
    IReadOnlyList<double>? LongFactor = null,
    double AttentionFactor = 1);

/// <summary>How a family normalizes the residual stream.</summary>
public enum NormKind
{
    /// <summary>RMSNorm scaled by its weight (Llama, Mistral, Qwen, Phi-3).</summary>
    Rms,
    /// <summary>RMSNorm scaled by (1 + weight), computed in float32 before rounding (Gemma).</summary>
    RmsOffset,
    /// <summary>LayerNorm with weight and bias (Starcoder2).</summary>
    LayerNorm,
}

/// <summary>The MLP's activation function.</summary>
public enum Activation
{
    /// <summary>x · sigmoid(x) (<c>silu</c>).</summary>
    Silu,
    /// <summary>Exact GELU with erf (<c>gelu</c>).</summary>
    Gelu,
    /// <summary>GELU's tanh approximation (<c>gelu_pytorch_tanh</c>, <c>gelu_new</c>).</summary>
    GeluTanh,
}

/// <summary>
/// The architecture of a decoder-only model, read from a Hugging Face <c>config.json</c>.
/// One record describes every supported family; the families differ only in the flags.
/// </summary>
public sealed record ModelConfig
{
    /// <summary>The families this transformer implements.</summary>
    public static readonly IReadOnlyList<string> SupportedModelTypes = ["gemma", "gemma2", "gemma3_text", "llama", "mistral", "phi3", "qwen2", "qwen3", "starcoder2"];

    /// <summary><c>model_type</c>: one of <see cref="SupportedModelTypes"/>.</summary>
    public required string ModelType { get; init; }
    /// <summary><c>hidden_size</c>: width of the residual stream.</summary>
    public required int HiddenSize { get; init; }
    /// <summary><c>num_hidden_layers</c>.</summary>
    public required int NumLayers { get; init; }
    /// <summary><c>num_attention_heads</c>: query heads.</summary>
    public required int NumHeads { get; init; }
    /// <summary><c>num_key_value_heads</c>: key/value heads (grouped-query attention when fewer than query heads).</summary>
    public required int NumKvHeads { get; init; }
    /// <summary><c>head_dim</c>, or hidden size / heads when absent.</summary>
    public required int HeadDim { get; init; }
    /// <summary><c>intermediate_size</c>: width of the MLP.</summary>
    public required int IntermediateSize { get; init; }
    /// <summary><c>vocab_size</c>.</summary>
    public required int VocabSize { get; init; }
    /// <summary><c>rms_norm_eps</c>, or Starcoder2's <c>norm_epsilon</c>.</summary>
    public double NormEps { get; init; } = 1e-6;
    /// <summary>The MLP's activation: <c>hidden_act</c>, or Gemma's <c>hidden_activation</c>.</summary>
    public Activation Activation { get; init; } = Activation.Silu;
    /// <summary>Dimensions of each head that RoPE rotates (the first ones): head_dim times Phi-3's <c>partial_rotary_factor</c>.</summary>
    public int RotaryDim { get => _rotaryDim ?? HeadDim; init => _rotaryDim = value; }
    readonly int? _rotaryDim;
    /// <summary>The factor on query-key dot products: <c>query_pre_attn_scalar</c>^-1/2 (Gemma 2 and 3), else head_dim^-1/2.</summary>
    public double QueryScale { get => _queryScale ?? 1 / Math.Sqrt(HeadDim); init => _queryScale = value; }
    readonly double? _queryScale;
    /// <summary><c>attn_logit_softcapping</c> (Gemma 2, 3): scores become cap · tanh(scores / cap) before the mask; null for none.</summary>
    public double? AttentionSoftcap { get; init; }
    /// <summary><c>final_logit_softcapping</c> (Gemma 2, 3): logits become cap · tanh(logits / cap); null for none.</summary>
    public double? FinalLogitSoftcap { get; init; }
    /// <summary><c>rope_theta</c>: RoPE base (of the full-attention layers where <see cref="LocalRopeTheta"/> is set).</summary>
    public double RopeTheta { get; init; } = 10000;
    /// <summary>Gemma 3's <c>rope_local_base_freq</c>: the RoPE base of the sliding-window layers, which are never scaled; null where every layer shares one RoPE.</summary>
    public double? LocalRopeTheta { get; init; }
    /// <summary><c>rope_scaling</c>, or null for plain RoPE.</summary>
    public RopeScaling? RopeScaling { get; init; }
    /// <summary><c>tie_word_embeddings</c>: the LM head reuses the embedding matrix.</summary>
    public bool TieWordEmbeddings { get; init; }
    /// <summary>Bias on the q/k/v projections (Qwen2 always; Llama and Qwen3 via <c>attention_bias</c>).</summary>
    public bool AttentionBias { get; init; }
    /// <summary>Bias on the output projection of attention (<c>attention_bias</c> of Llama and Qwen3).</summary>
    public bool OutputBias { get; init; }
    /// <summary><c>mlp_bias</c> (Llama).</summary>
    public bool MlpBias { get; init; }
    /// <summary>Per-head RMSNorm on queries and keys before RoPE (Qwen3; Gemma 3's scales by 1 + weight).</summary>
    public bool QkNorm { get; init; }
    /// <summary><c>max_position_embeddings</c>.</summary>
    public int MaxPositionEmbeddings { get; init; } = 2048;
    /// <summary>Per layer: the sliding attention window, or null for full attention.</summary>
    public required IReadOnlyList<int?> SlidingWindows { get; init; }
    /// <summary><c>bos_token_id</c>.</summary>
    public int? BosTokenId { get; init; }
    /// <summary><c>eos_token_id</c>; a list in some configs.</summary>
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];
    /// <summary><c>pad_token_id</c>.</summary>
    public int? PadTokenId { get; init; }
    /// <summary><c>torch_dtype</c> (or <c>dtype</c>): the dtype the weights were saved in.</summary>
    public string? TorchDType { get; init; }

    /// <summary>The checkpoint stores q/k/v as one <c>qkv_proj</c> and gate/up as one <c>gate_up_proj</c> (Phi-3).</summary>
    public bool FusedProjections => ModelType == "phi3";

    /// <summary>The residual stream's norm: (1 + w) RMSNorm for Gemma, LayerNorm for Starcoder2, RMSNorm otherwise.</summary>
    public NormKind Norm => ModelType switch
    {
        _ when IsGemma(ModelType) => NormKind.RmsOffset,
        "starcoder2" => NormKind.LayerNorm,
        _ => NormKind.Rms,
    };

    /// <summary>A gated MLP, down(act(gate(x)) · up(x)); Starcoder2's is c_proj(act(c_fc(x))).</summary>
    public bool GatedMlp => ModelType != "starcoder2";

    /// <summary>Embeddings are multiplied by √hidden, rounded to the compute dtype (Gemma).</summary>
    public bool ScaleEmbeddings => IsGemma(ModelType);

    /// <summary>
    /// Gemma 2's and 3's extra norms: attention and MLP outputs are normed before they join the
    /// residual stream, and the MLP's input norm is <c>pre_feedforward_layernorm</c>.
    /// </summary>
    public bool SandwichNorms => ModelType is "gemma2" or "gemma3_text";

    static bool IsGemma(string type) => type is "gemma" or "gemma2" or "gemma3_text";

    /// <summary>Rows of the fused q/k/v projection: query heads, then key heads, then value heads.</summary>
    public int QkvSize => (NumHeads + 2 * NumKvHeads) * HeadDim;

    /// <summary>Reads and validates a <c>config.json</c>.</summary>
    public static ModelConfig Load(string path)
    {
        return Parse(ConfigReader.ReadObject(path, "a model folder needs config.json"), path);
    }

    /// <summary>Builds the config from a parsed <c>config.json</c>; <paramref name="file"/> names it in errors.</summary>
    public static ModelConfig Parse(JsonObject json, string file)
    {
        var r = new ConfigReader(json, file);
        string type = r.String("model_type");
        if (!SupportedModelTypes.Contains(type))
            throw new ModelFormatException(file, $"field 'model_type': unsupported value '{type}' (supported: {string.Join(", ", SupportedModelTypes)})");
        bool gemma = IsGemma(type);
        bool gemma3 = type == "gemma3_text";

        int hidden = r.Int("hidden_size");
        int heads = r.Int("num_attention_heads");
        int layers = r.Int("num_hidden_layers");
        int kvHeads = r.OptionalInt("num_key_value_heads") ?? heads;
        int headDim = r.OptionalInt("head_dim") ?? (hidden % heads == 0 ? hidden / heads
            : throw new ModelFormatException(file, "field 'head_dim' is missing and hidden_size is not a multiple of num_attention_heads"));
        if (heads % kvHeads != 0)
            throw new ModelFormatException(file, $"field 'num_key_value_heads': {kvHeads} does not divide num_attention_heads {heads}");

        // transformers 5 moved rope_theta and rope_scaling into one rope_parameters object, one per
        // layer type where the types differ (Gemma 3's full and sliding attention).
        JsonObject? ropeParameters = r.OptionalObject("rope_parameters");
        JsonObject? localRope = null;
        if (ropeParameters is not null && ropeParameters.ContainsKey("full_attention"))
        {
            var byType = new ConfigReader(ropeParameters, file, "rope_parameters.");
            localRope = byType.OptionalObject("sliding_attention");
            ropeParameters = byType.OptionalObject("full_attention");
        }
        double theta = r.OptionalDouble("rope_theta")
            ?? (ropeParameters is null ? null : new ConfigReader(ropeParameters, file, "rope_parameters.").OptionalDouble("rope_theta"))
            ?? (gemma3 ? 1e6 : 10000);
        double? localTheta = !gemma3 ? null : r.OptionalDouble("rope_local_base_freq")
            ?? (localRope is null ? null : new ConfigReader(localRope, file, "rope_parameters.sliding_attention.").OptionalDouble("rope_theta"))
            ?? 10000;
        int maxPositions = r.OptionalInt("max_position_embeddings") ?? DefaultMaxPositions(type);
        int rotaryDim = ReadRotaryDim(r, ropeParameters, type, headDim);
        RopeScaling? scaling = ReadRopeScaling(r.OptionalObject("rope_scaling") ?? ropeParameters, file,
            ropeParameters is not null && r.OptionalObject("rope_scaling") is null ? "rope_parameters" : "rope_scaling",
            maxPositions, r.OptionalInt("original_max_position_embeddings"), rotaryDim);

        bool attentionBias = r.OptionalBool("attention_bias") ?? false;
        bool useBias = type == "starcoder2" && (r.OptionalBool("use_bias") ?? true);
        return new ModelConfig
        {
            ModelType = type,
            HiddenSize = hidden,
            NumLayers = layers,
            NumHeads = heads,
            NumKvHeads = kvHeads,
            HeadDim = headDim,
            IntermediateSize = r.Int("intermediate_size"),
            VocabSize = r.Int("vocab_size"),
            NormEps = type == "starcoder2" ? r.OptionalDouble("norm_epsilon") ?? 1e-5 : r.OptionalDouble("rms_norm_eps") ?? 1e-6,
            Activation = ReadActivation(r, type),
            RotaryDim = rotaryDim,
            QueryScale = 1 / Math.Sqrt(type is "gemma2" or "gemma3_text" ? r.OptionalDouble("query_pre_attn_scalar") ?? 256 : headDim),
            AttentionSoftcap = type == "gemma2" ? Softcap(r, "attn_logit_softcapping", 50) : gemma3 ? Softcap(r, "attn_logit_softcapping", null) : null,
            FinalLogitSoftcap = type == "gemma2" ? Softcap(r, "final_logit_softcapping", 30) : gemma3 ? Softcap(r, "final_logit_softcapping", null) : null,
            RopeTheta = theta,
            LocalRopeTheta = localTheta,
            RopeScaling = scaling,
            // Each family's config class has its own default for tying (Gemma's and Starcoder2's tie).
            TieWordEmbeddings = r.OptionalBool("tie_word_embeddings") ?? (gemma || type == "starcoder2"),
            AttentionBias = type == "qwen2" || useBias || (type is not ("mistral" or "starcoder2") && attentionBias),
            OutputBias = useBias || ((type is "llama" or "qwen3" || gemma) && attentionBias),
            MlpBias = useBias || (type == "llama" && (r.OptionalBool("mlp_bias") ?? false)),
            QkNorm = type is "qwen3" or "gemma3_text",
            MaxPositionEmbeddings = maxPositions,
            SlidingWindows = ReadSlidingWindows(r, type, layers),
            BosTokenId = r.OptionalInt("bos_token_id"),
            EosTokenIds = r.OptionalIntOrList("eos_token_id"),
            PadTokenId = r.OptionalInt("pad_token_id"),
            TorchDType = r.OptionalString("torch_dtype") ?? r.OptionalString("dtype"),
        };
    }

    static int DefaultMaxPositions(string type) => type switch
    {
        "mistral" => 4096 * 32,
        "phi3" or "starcoder2" => 4096,
        "gemma" or "gemma2" => 8192,
        "gemma3_text" => 131072,
        "qwen2" or "qwen3" => 32768,
        _ => 2048,
    };

    // Gemma's published code takes hidden_activation and, where a config lacks it, the tanh GELU the
    // models were trained with (early Gemma configs say "gelu" in hidden_act, which it ignores).
    static Activation ReadActivation(ConfigReader r, string type)
    {
        string field = IsGemma(type) ? "hidden_activation" : "hidden_act";
        string act = r.OptionalString(field) ?? (IsGemma(type) || type == "starcoder2" ? "gelu_pytorch_tanh" : "silu");
        return act switch
        {
            "silu" or "swish" => Activation.Silu,
            "gelu" => Activation.Gelu,
            "gelu_pytorch_tanh" or "gelu_new" => Activation.GeluTanh,
            _ => throw new ModelFormatException(r.File, $"field '{field}': unsupported value '{act}' (supported: silu, gelu, gelu_pytorch_tanh, gelu_new)"),
        };
    }

    // Absent means the config class's default; an explicit null turns the capping off.
    static double? Softcap(ConfigReader r, string name, double? fallback) => r.Has(name) ? r.OptionalDouble(name) : fallback;

    // Phi-3 (e.g. Phi-4-mini) may rotate only the first part of each head; transformers 5 keeps the factor in rope_parameters.
    static int ReadRotaryDim(ConfigReader r, JsonObject? ropeParameters, string type, int headDim)
    {
        double factor = r.OptionalDouble("partial_rotary_factor")
            ?? (ropeParameters is null ? null : new ConfigReader(ropeParameters, r.File, "rope_parameters.").OptionalDouble("partial_rotary_factor"))
            ?? 1;
        if (factor == 1) return headDim;
        if (type != "phi3" || !(factor > 0 && factor < 1))
            throw new ModelFormatException(r.File, $"field 'partial_rotary_factor': {factor} is not supported for {type} (phi3 takes a factor in (0, 1]; other families rotate whole heads)");
        int dim = (int)(headDim * factor);
        return dim % 2 == 0 ? dim : throw new ModelFormatException(r.File, $"field 'partial_rotary_factor': {factor} of head_dim {headDim} gives {dim} rotary dimensions, not an even number");
    }

    // Phi-3 keeps original_max_position_embeddings beside max_position_embeddings, not in rope_scaling.
    static RopeScaling? ReadRopeScaling(JsonObject? node, string file, string field, int maxPositions, int? originalPositions, int rotaryDim)
    {
        if (node is null) return null;
        var r = new ConfigReader(node, file, field + ".");
        string type = r.OptionalString("rope_type") ?? r.OptionalString("type") ?? "default";
        switch (type)
        {
            case "default":
                return null;
            case "linear":
                return new RopeScaling("linear", r.Double("factor"));
            case "llama3":
                return new RopeScaling("llama3", r.Double("factor"), r.Double("low_freq_factor"),
                    r.Double("high_freq_factor"), r.Int("original_max_position_embeddings"));
            case "longrope" or "su":
            {
                int original = originalPositions ?? r.OptionalInt("original_max_position_embeddings") ?? maxPositions;
                double factor = originalPositions is not null ? (double)maxPositions / original : r.OptionalDouble("factor") ?? 1;
                double attention = r.OptionalDouble("attention_factor") ?? (factor <= 1 ? 1 : Math.Sqrt(1 + Math.Log(factor) / Math.Log(original)));
                IReadOnlyList<double> Factors(string name)
                {
                    var list = r.DoubleList(name);
                    return list.Count == rotaryDim / 2 ? list
                        : throw new ModelFormatException(file, $"field '{field}.{name}': {list.Count} values for {rotaryDim / 2} frequencies");
                }
                return new RopeScaling("longrope", factor, OriginalMaxPositionEmbeddings: original, ShortFactor: Factors("short_factor"),
                    LongFactor: Factors("long_factor"), AttentionFactor: attention);
            }
            default:
                throw new ModelFormatException(file, $"field '{field}.rope_type': unsupported value '{type}' (supported: default, linear, llama3, longrope)");
        }
    }

    // Mistral, Phi-3 and Starcoder2 slide every layer; Gemma 2 every other one, from the first; Gemma 3 all
    // but every sliding_window_pattern-th; Qwen2/3 only when use_sliding_window is set, and then only the
    // layers from max_window_layers on. An explicit layer_types list overrides them all.
    static IReadOnlyList<int?> ReadSlidingWindows(ConfigReader r, string type, int layers)
    {
        int? window = r.OptionalInt("sliding_window") ?? (type is "gemma2" or "gemma3_text" ? 4096 : null);
        if (type is "qwen2" or "qwen3" && !(r.OptionalBool("use_sliding_window") ?? false)) window = null;
        if (type is "llama" or "gemma") window = null;
        var layerTypes = r.OptionalStringList("layer_types");
        if (layerTypes is not null)
        {
            if (layerTypes.Count != layers)
                throw new ModelFormatException(r.File, $"field 'layer_types': {layerTypes.Count} entries for {layers} layers");
            return layerTypes.Select(t => t == "sliding_attention" ? window : null).ToArray();
        }
        if (type == "gemma2") return Enumerable.Range(0, layers).Select(i => i % 2 == 0 ? window : null).ToArray();
        if (type == "gemma3_text")
        {
            int pattern = r.OptionalInt("sliding_window_pattern") ?? r.OptionalInt("_sliding_window_pattern") ?? 6;
            return Enumerable.Range(0, layers).Select(i => (i + 1) % pattern != 0 ? window : null).ToArray();
        }
        int firstSliding = type is "mistral" or "phi3" or "starcoder2" ? 0 : r.OptionalInt("max_window_layers") ?? 28;
        return Enumerable.Range(0, layers).Select(i => i >= firstSliding ? window : null).ToArray();
    }
}
