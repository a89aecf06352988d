using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using SelfAlign.Data;
using SelfAlign.IO;
using SelfAlign.Modeling;
using SelfAlign.Modeling.Safetensors;

namespace SelfAlign.Cli.Commands;

/// <summary><c>selfalign init-model</c>: a random-weight model folder in the real Hugging Face format.</summary>
internal static class InitModelCommand
{
    public static Command Create()
    {
        var config = new Option<FileInfo>("--config") { Description = "A Hugging Face config.json.", Required = true };
        var seed = new Option<long>("--seed") { Description = "Random seed.", DefaultValueFactory = _ => 0 };
        var output = new Option<DirectoryInfo>("--out") { Description = "Folder to write.", Required = true };
        var layers = new Option<int?>("--layers") { Description = "Keep only this many layers." };
        var dtype = CliOptions.DType("Storage dtype of the weights (bf16, f32, f16).", "bf16");
        var shard = new Option<long>("--max-shard-bytes")
        {
            Description = "Split the weights into shards of at most this many bytes (with model.safetensors.index.json).",
            DefaultValueFactory = _ => 5_000_000_000,
        };
        var overwrite = CliOptions.Overwrite();
        var command = new Command("init-model", "Write a random-weight model folder (config.json, safetensors, the tokenizer files beside the config) " +
            "for tests and benchmarks. A rerun replaces its own output.")
        {
            config, output, layers, seed, dtype, shard, overwrite,
        };
        command.SetAction(parse =>
        {
            CliOptions.Apply(parse);
            if (parse.GetValue(shard) < 1) throw new UsageException($"--max-shard-bytes must be at least 1, got {parse.GetValue(shard)}");
            if (string.Equals(parse.GetValue(dtype), "auto", StringComparison.OrdinalIgnoreCase)) throw new UsageException("--dtype of stored weights: use bf16, f32 or f16");
            Run(parse.GetRequiredValue(config).FullName, parse.GetValue(seed), parse.GetRequiredValue(output).FullName,
                parse.GetValue(layers), CliOptions.ParseDType(parse.GetValue(dtype)!), parse.GetValue(shard), parse.GetValue(overwrite));
            return 0;
        });
        return command;
    }

    static void Run(string configPath, long seed, string outDir, int? layers, TorchSharp.torch.ScalarType dtype, long maxShardBytes, bool overwrite)
    {
        var json = JsonObject.Create(JsonRecords.ReadDocument(configPath)) ?? throw new ModelFormatException(configPath, "expected a JSON object");
        if (layers is int k)
        {
            if (k < 1) throw new UsageException("--layers must be at least 1");
            json["num_hidden_layers"] = k;
            if (json["layer_types"] is JsonArray types)
                json["layer_types"] = new JsonArray(types.Take(k).Select(t => t?.DeepClone()).ToArray());
        }
        json["torch_dtype"] = dtype switch
        {
            TorchSharp.torch.ScalarType.Float32 => "float32",
            TorchSharp.torch.ScalarType.Float16 => "float16",
            _ => "bfloat16",
        };
        var config = ModelConfig.Parse(json, configPath);

        OutputGuard.ClaimFolder(outDir, "init-model", [new("config", configPath), new("tokenizer folder", Path.GetDirectoryName(configPath))], overwrite);
        Directory.CreateDirectory(outDir);
        RunManifest.Write(Path.Combine(outDir, OutputGuard.FolderManifest), "init-model", new JsonObject
        {
            ["config"] = configPath,
            ["config_sha256"] = RunManifest.FileSha256(configPath),
            ["seed"] = seed,
            ["layers"] = layers,
            ["dtype"] = json["torch_dtype"]?.DeepClone(),
            ["max_shard_bytes"] = maxShardBytes,
        });
        // Hugging Face initializes a fresh model with normal(0, initializer_range); 0.02 is its default.
        double std = json["initializer_range"] is JsonValue range && range.TryGetValue<double>(out double r) ? r : 0.02;
        var tensors = RandomWeights.Create(config, seed, dtype, std);
        long parameters = tensors.Sum(t => t.Value.numel());
        try
        {
            Checkpoint.Write(outDir, tensors, maxShardBytes);
        }
        finally
        {
            foreach (var t in tensors) t.Value.Dispose();
        }
        AtomicFile.WriteAllText(Path.Combine(outDir, ModelFolder.ConfigFile), json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        ModelFolder.CopyCompanions(Path.GetDirectoryName(configPath)!, outDir);
        Console.WriteLine($"wrote {outDir}: {config.ModelType}, {config.NumLayers} layers, {parameters:N0} parameters, seed {seed}");
    }
}
