using SelfAlign.Modeling.Safetensors;
using TorchSharp;
using static TorchSharp.torch;

namespace SelfAlign.Modeling;

/// <summary>How to place a model in memory.</summary>
/// <param name="DType">Compute dtype: bfloat16, float32 or float16; null (default): <see cref="ComputeDType.Fastest"/>,
/// bf16 where the CPU computes it natively, else f32.</param>
/// <param name="Device">Where the weights live; CPU when null.</param>
/// <param name="Adapter">A PEFT LoRA adapter folder to merge into the weights once they are loaded, or null.</param>
public sealed record LoadOptions(ScalarType? DType = null, Device? Device = null, string? Adapter = null)
{
    /// <summary>The dtype the model computes in: <see cref="DType"/>, or this machine's fastest.</summary>
    public ScalarType ComputeType => DType ?? ComputeDType.Fastest;
}

/// <summary>A Hugging Face model folder: <c>config.json</c> and safetensors weights (single file or sharded).</summary>
public static class ModelFolder
{
    /// <summary>File name of the architecture config.</summary>
    public const string ConfigFile = "config.json";

    /// <summary>The tokenizer and generation files that complete a model folder, copied along with it.</summary>
    public static IReadOnlyList<string> CompanionFiles { get; } =
        ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json", "chat_template.jinja"];

    /// <summary>
    /// Loads the config and weights of a model folder, checking every tensor's presence and shape
    /// first; with <see cref="LoadOptions.Adapter"/> the adapter is merged in (as PEFT's
    /// <c>merge_and_unload</c> does, rounding once to the compute dtype).
    /// </summary>
    public static CausalLm Load(string folder, LoadOptions? options = null)
    {
        options ??= new LoadOptions();
        if (options.ComputeType is not (ScalarType.BFloat16 or ScalarType.Float32 or ScalarType.Float16))
            throw new ArgumentException($"unsupported compute dtype {options.ComputeType}");
        if (!Directory.Exists(folder)) throw new ModelFormatException(folder, "model folder not found");
        var config = ModelConfig.Load(Path.Combine(folder, ConfigFile));
        using var checkpoint = Checkpoint.Open(folder);
        Validate(config, checkpoint, folder);
        var model = CheckpointMapping.Build(config, checkpoint.Read, options.Device ?? torch.CPU, options.ComputeType);
        if (options.Adapter is string adapterFolder)
        {
            try
            {
                using var adapter = Lora.PeftAdapter.Load(adapterFolder, config, model.Device);
                adapter.MergeInto(model);
            }
            catch
            {
                model.Dispose();
                throw;
            }
        }
        return model;
    }

    /// <summary>
    /// Checks a model folder without loading its weights: <c>config.json</c>, and every tensor's
    /// presence, shape and dtype from the safetensors headers. Commands call it before they write
    /// anything, so a bad folder leaves no output behind.
    /// </summary>
    public static ModelConfig Check(string folder)
    {
        if (!Directory.Exists(folder)) throw new ModelFormatException(folder, "model folder not found");
        var config = ModelConfig.Load(Path.Combine(folder, ConfigFile));
        using var checkpoint = Checkpoint.Open(folder);
        Validate(config, checkpoint, folder);
        return config;
    }

    /// <summary>The stored dtypes the engine converts to its compute dtype: floating point only.</summary>
    static readonly ScalarType[] ComputableWeights = [ScalarType.BFloat16, ScalarType.Float16, ScalarType.Float32, ScalarType.Float64];

    /// <summary>Checks that the checkpoint has every tensor the config implies, with the right shapes and a floating-point dtype.</summary>
    public static void Validate(ModelConfig config, Checkpoint checkpoint, string folder)
    {
        string where = File.Exists(Path.Combine(folder, Checkpoint.IndexFile))
            ? Path.Combine(folder, Checkpoint.IndexFile) : Path.Combine(folder, Checkpoint.SingleFile);
        foreach (var (name, shape) in WeightNames.Expected(config))
        {
            if (!checkpoint.Contains(name))
                throw new ModelFormatException(where, $"missing tensor '{name}' (expected by {ConfigFile}: model_type {config.ModelType}, {config.NumLayers} layers)");
            var entry = checkpoint.Entry(name);
            if (!ComputableWeights.Contains(entry.DType))
                throw new ModelFormatException(where, $"tensor '{name}' is stored as {SafetensorsDType.Name(entry.DType)}; weights must be BF16, F16, F32 or F64 (quantized checkpoints are not supported)");
            if (!entry.Shape.SequenceEqual(shape))
                throw new ModelFormatException(where, $"tensor '{name}' has shape [{string.Join(", ", entry.Shape)}], {ConfigFile} implies [{string.Join(", ", shape)}]");
        }
    }

    /// <summary>
    /// Writes <paramref name="model"/> as a complete model folder: its weights in its compute
    /// dtype, and the config and tokenizer files of <paramref name="sourceFolder"/> (the folder it
    /// was loaded from), with <c>torch_dtype</c> set to match.
    /// </summary>
    public static void Save(CausalLm model, string folder, string sourceFolder)
    {
        Directory.CreateDirectory(folder);
        SaveWeights(model, folder);
        var config = ConfigReader.ReadObject(Path.Combine(sourceFolder, ConfigFile), "the source model folder needs config.json");
        config["torch_dtype"] = model.DType switch { ScalarType.Float32 => "float32", ScalarType.Float16 => "float16", _ => "bfloat16" };
        IO.AtomicFile.WriteAllText(Path.Combine(folder, ConfigFile), config.ToJsonString(new() { WriteIndented = true }));
        CopyCompanions(sourceFolder, folder);
    }

    /// <summary>Copies the companion files <paramref name="from"/> has into <paramref name="to"/>, by content (so the copies are writable).</summary>
    public static void CopyCompanions(string from, string to)
    {
        foreach (string file in CompanionFiles)
            if (File.Exists(Path.Combine(from, file)))
                IO.AtomicFile.Write(Path.Combine(to, file), s => s.Write(File.ReadAllBytes(Path.Combine(from, file))));
    }

    /// <summary>
    /// Writes the model's weights as a model folder's checkpoint, in <paramref name="dtype"/>
    /// (the compute dtype when null), sharded above <paramref name="maxShardBytes"/>.
    /// </summary>
    public static void SaveWeights(CausalLm model, string folder, ScalarType? dtype = null, long maxShardBytes = 5_000_000_000)
    {
        using var scope = torch.NewDisposeScope();
        var tensors = model.Parameters()
            .Select(p => KeyValuePair.Create(p.Name, p.Tensor.to(dtype ?? model.DType).cpu().contiguous()))
            .ToList();
        Checkpoint.Write(folder, tensors, maxShardBytes);
    }
}
