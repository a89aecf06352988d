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

/// <summary>
/// The architecture of a decoder-only model, read from a Hugging Face <c>config.json</c>.
/// One record describes every supported family; the families differ only in the flags.
/// </summary>
public sealed record ModelConfig
{
    /// <summary>The families this transformer implements.</summary>
    public static readonly IReadOnlyList<string> SupportedModelTypes = ["llama", "mistral", "phi3", "qwen2", "qwen3"];

    /// <summary><c>model_type</c>: llama, mistral, phi3, qwen2 or qwen3.</summary>
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
    /// <summary><c>intermediate_size</c>: width of the SwiGLU MLP.</summary>
    public required int IntermediateSize { get; init; }
    /// <summary><c>vocab_size</c>.</summary>
    public required int VocabSize { get; init; }
    /// <summary><c>rms_norm_eps</c>.</summary>
    public double RmsNormEps { get; init; } = 1e-6;
    /// <summary><c>rope_theta</c>: RoPE base.</summary>
    public double RopeTheta { get; init; } = 10000;
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
    /// <summary>Per-head RMSNorm on queries and keys before RoPE (Qwen3).</summary>
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
        string act = r.OptionalString("hidden_act") ?? "silu";
        if (act != "silu")
            throw new ModelFormatException(file, $"field 'hidden_act': unsupported value '{act}' (only silu)");

        int hidden = r.Int("hidden_size");
        int heads = r.Int("num_attention_heads");
        int layers = r.Int("num_hidden_layers");
        int kvHeads = r.OptionalInt("num_key_value_heads") ?? heads;
        int headDim = r.OptionalInt("head_dim") ?? (hidden % heads == 0 ? hidden / heads
            : throw new ModelFormatException(file, "field 'head_dim' is missing and hidden_size is not a multiple of num_attention_heads"));
        if (heads % kvHeads != 0)
            throw new ModelFormatException(file, $"field 'num_key_value_heads': {kvHeads} does not divide num_attention_heads {heads}");

        // transformers 5 moved rope_theta and rope_scaling into one rope_parameters object.
        JsonObject? ropeParameters = r.OptionalObject("rope_parameters");
        double theta = r.OptionalDouble("rope_theta")
            ?? (ropeParameters is null ? null : new ConfigReader(ropeParameters, file, "rope_parameters.").OptionalDouble("rope_theta"))
            ?? 10000;
        int maxPositions = r.OptionalInt("max_position_embeddings") ?? DefaultMaxPositions(type);
        RopeScaling? scaling = ReadRopeScaling(r.OptionalObject("rope_scaling") ?? ropeParameters, file,
            ropeParameters is not null && r.OptionalObject("rope_scaling") is null ? "rope_parameters" : "rope_scaling",
            maxPositions, r.OptionalInt("original_max_position_embeddings"), headDim);
        if (r.OptionalDouble("partial_rotary_factor") is double partial && partial != 1)
            throw new ModelFormatException(file, $"field 'partial_rotary_factor': {partial} is not supported (only 1, RoPE over the whole head)");

        bool attentionBias = r.OptionalBool("attention_bias") ?? false;
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
            RmsNormEps = r.OptionalDouble("rms_norm_eps") ?? 1e-6,
            RopeTheta = theta,
            RopeScaling = scaling,
            TieWordEmbeddings = r.OptionalBool("tie_word_embeddings") ?? false,
            AttentionBias = type == "qwen2" || (type != "mistral" && attentionBias),
            OutputBias = type is "llama" or "qwen3" && attentionBias,
            MlpBias = type == "llama" && (r.OptionalBool("mlp_bias") ?? false),
            QkNorm = type == "qwen3",
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
        "phi3" => 4096,
        "qwen2" or "qwen3" => 32768,
        _ => 2048,
    };

    // Phi-3 keeps original_max_position_embeddings beside max_position_embeddings, not in rope_scaling.
    static RopeScaling? ReadRopeScaling(JsonObject? node, string file, string field, int maxPositions, int? originalPositions, int headDim)
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
                    return list.Count == headDim / 2 ? list
                        : throw new ModelFormatException(file, $"field '{field}.{name}': {list.Count} values for {headDim / 2} frequencies");
                }
                return new RopeScaling("longrope", factor, OriginalMaxPositionEmbeddings: original, ShortFactor: Factors("short_factor"),
                    LongFactor: Factors("long_factor"), AttentionFactor: attention);
            }
            default:
                throw new ModelFormatException(file, $"field '{field}.rope_type': unsupported value '{type}' (supported: default, linear, llama3, longrope)");
        }
    }

    // Mistral and Phi-3 slide every layer; Qwen2/3 only when use_sliding_window is set, and then only the
    // layers from max_window_layers on. An explicit layer_types list overrides both.
    static IReadOnlyList<int?> ReadSlidingWindows(ConfigReader r, string type, int layers)
    {
        int? window = r.OptionalInt("sliding_window");
        if (type is "qwen2" or "qwen3" && !(r.OptionalBool("use_sliding_window") ?? false)) window = null;
        if (type == "llama") window = null;
        var layerTypes = r.OptionalStringList("layer_types");
        if (layerTypes is not null)
        {
            if (layerTypes.Count != layers)
                throw new ModelFormatException(r.File, $"field 'layer_types': {layerTypes.Count} entries for {layers} layers");
            return layerTypes.Select(t => t == "sliding_attention" ? window : null).ToArray();
        }
        int firstSliding = type is "mistral" or "phi3" ? 0 : r.OptionalInt("max_window_layers") ?? 28;
        return Enumerable.Range(0, layers).Select(i => i >= firstSliding ? window : null).ToArray();
    }
}
