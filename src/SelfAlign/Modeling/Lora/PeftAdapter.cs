using System.Text.Json.Nodes;
using SelfAlign.IO;
using SelfAlign.Modeling.Safetensors;
using TorchSharp;
using static TorchSharp.torch;

namespace SelfAlign.Modeling.Lora;

/// <summary>
/// A PEFT LoRA adapter folder: <c>adapter_config.json</c> and <c>adapter_model.safetensors</c>
/// with PEFT's key names, the format PEFT's <c>PeftModel.from_pretrained</c> and vLLM's LoRA
/// loader read.
/// </summary>
public static class PeftAdapter
{
    /// <summary>File name of the adapter settings.</summary>
    public const string ConfigFile = "adapter_config.json";
    /// <summary>File name of the adapter weights.</summary>
    public const string WeightsFile = "adapter_model.safetensors";

    const string Prefix = "base_model.model.";

    /// <summary>How a run manifest records an adapter folder: its path and the hash of its weights (null without one).</summary>
    public static System.Text.Json.Nodes.JsonObject? ManifestRecord(string? folder) => folder is null ? null : new()
    {
        ["folder"] = folder,
        ["weights_sha256"] = IO.RunManifest.FileSha256(Path.Combine(folder, WeightsFile)),
    };

    /// <summary>PEFT's key of a module's A matrix.</summary>
    public static string KeyA(string module) => $"{Prefix}{module}.lora_A.weight";
    /// <summary>PEFT's key of a module's B matrix.</summary>
    public static string KeyB(string module) => $"{Prefix}{module}.lora_B.weight";

    /// <summary>Writes the adapter (float32 weights) to a folder; each file appears atomically.</summary>
    /// <param name="adapter">The adapter to write.</param>
    /// <param name="folder">The adapter folder, created if missing.</param>
    /// <param name="baseModel">What <c>base_model_name_or_path</c> records: the base model's folder or hub name.</param>
    public static void Save(LoraAdapter adapter, string folder, string? baseModel)
    {
        Directory.CreateDirectory(folder);
        var c = adapter.Config;
        var config = new JsonObject
        {
            ["alpha_pattern"] = new JsonObject(),
            ["base_model_name_or_path"] = baseModel,
            ["bias"] = "none",
            ["fan_in_fan_out"] = false,
            ["inference_mode"] = true,
            ["init_lora_weights"] = true,
            ["layers_to_transform"] = null,
            ["lora_alpha"] = c.Alpha,
            ["lora_dropout"] = c.Dropout,
            ["modules_to_save"] = null,
            ["peft_type"] = "LORA",
            ["r"] = c.Rank,
            ["rank_pattern"] = new JsonObject(),
            ["target_modules"] = new JsonArray(LoraModules.All(adapter.Model).Where(m => c.Adapts(m.Short)).Select(m => m.Short).Distinct()
                .Select(t => (JsonNode?)t).ToArray()),
            ["task_type"] = "CAUSAL_LM",
            ["use_dora"] = false,
            ["use_rslora"] = c.UseRsLora,
        };
        using var scope = torch.NewDisposeScope();
        SafetensorsWriter.Write(Path.Combine(folder, WeightsFile),
            adapter.Parameters().Select(p => KeyValuePair.Create(p.Name, p.Tensor.detach().to(ScalarType.Float32).cpu().contiguous())),
            new Dictionary<string, string> { ["format"] = "pt" });
        AtomicFile.WriteAllText(Path.Combine(folder, ConfigFile), config.ToJsonString(new() { WriteIndented = true }) + "\n");
    }

    /// <summary>
    /// Reads a PEFT LoRA adapter for a model of architecture <paramref name="model"/>. The targeted
    /// modules are the ones the weights file holds; settings this engine does not implement
    /// (DoRA, per-module rank or alpha, bias training, extra saved modules) are refused by name.
    /// </summary>
    public static LoraAdapter Load(string folder, ModelConfig model, Device? device = null)
    {
        string configPath = Path.Combine(folder, ConfigFile);
        var json = ConfigReader.ReadObject(configPath, "a PEFT adapter folder needs adapter_config.json");
        var r = new ConfigReader(json, configPath);
        if (r.OptionalString("peft_type") is string type && type != "LORA")
            throw new ModelFormatException(configPath, $"field 'peft_type': '{type}' adapters are not supported (only LORA)");
        if (r.OptionalBool("use_dora") == true) throw new ModelFormatException(configPath, "field 'use_dora': DoRA adapters are not supported");
        if (r.OptionalBool("fan_in_fan_out") == true) throw new ModelFormatException(configPath, "field 'fan_in_fan_out': transposed (Conv1D) weights are not supported");
        if (r.OptionalString("bias") is string bias && bias != "none")
            throw new ModelFormatException(configPath, $"field 'bias': '{bias}' is not supported (only 'none')");
        foreach (var field in new[] { "rank_pattern", "alpha_pattern" })
            if (r.OptionalObject(field) is { Count: > 0 }) throw new ModelFormatException(configPath, $"field '{field}': per-module ranks and alphas are not supported");
        if (json["modules_to_save"] is JsonArray { Count: > 0 })
            throw new ModelFormatException(configPath, "field 'modules_to_save': fully trained extra modules are not supported");

        int rank = r.Int("r");
        double alpha = r.OptionalDouble("lora_alpha") ?? 8;
        string weightsPath = Path.Combine(folder, WeightsFile);
        if (!File.Exists(weightsPath)) throw new ModelFormatException(weightsPath, "file not found (a PEFT adapter folder needs adapter_model.safetensors)");
        using var file = SafetensorsFile.Open(weightsPath);
        var weights = new Dictionary<string, (Tensor A, Tensor B)>();
        try
        {
            foreach (var key in file.Tensors.Keys)
            {
                if (!key.StartsWith(Prefix) || !key.EndsWith(".lora_A.weight"))
                {
                    if (key.EndsWith(".lora_B.weight")) continue;
                    throw new ModelFormatException(weightsPath, $"tensor '{key}' is not a LoRA weight of the form {Prefix}<module>.lora_A.weight / lora_B.weight");
                }
                string module = key[Prefix.Length..^".lora_A.weight".Length];
                if (!file.Tensors.ContainsKey(KeyB(module))) throw new ModelFormatException(weightsPath, $"tensor '{KeyB(module)}' is missing");
                weights[module] = (Read(file, key, device), Read(file, KeyB(module), device));
            }
            foreach (var key in file.Tensors.Keys.Where(k => k.EndsWith(".lora_B.weight")))
                if (!weights.ContainsKey(key[Prefix.Length..^".lora_B.weight".Length]))
                    throw new ModelFormatException(weightsPath, $"tensor '{key}' has no lora_A partner");
            if (weights.Count == 0) throw new ModelFormatException(weightsPath, "no LoRA weights found");
            var targets = LoraConfig.Known.Where(s => weights.Keys.Any(m => m.EndsWith("." + s))).ToArray();
            var config = new LoraConfig(rank, alpha, r.OptionalDouble("lora_dropout") ?? 0, targets, r.OptionalBool("use_rslora") ?? false);
            return LoraAdapter.FromTensors(model, config, weights, weightsPath);
        }
        catch
        {
            foreach (var (a, b) in weights.Values)
            {
                a.Dispose();
                b.Dispose();
            }
            throw;
        }
    }

    static Tensor Read(SafetensorsFile file, string key, Device? device)
    {
        using var stored = file.Read(key);
        return stored.to(ScalarType.Float32, device ?? torch.CPU).DetachFromDisposeScope();
    }
}
