using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SelfAlign.IO;
using SelfAlign.Modeling;
using SelfAlign.Modeling.Safetensors;
using SelfAlign.Pipeline;
using SelfAlign.Text;
using SelfAlign.Training;
using ScalarType = TorchSharp.torch.ScalarType;

namespace SelfAlign.Demo;

/// <summary>What the seed model M0 is: its world, tokenizer, architecture and training.</summary>
/// <param name="World">The sizes of the world's splits.</param>
/// <param name="WorldSeed">Seed of the world's draws.</param>
/// <param name="VocabSize">Tokens of the trained BPE tokenizer.</param>
/// <param name="Hidden">Hidden size.</param>
/// <param name="Layers">Decoder layers.</param>
/// <param name="Heads">Attention heads (head size Hidden / Heads).</param>
/// <param name="Epochs">Passes over the SFT data.</param>
/// <param name="LearningRate">Peak learning rate.</param>
/// <param name="BatchSize">Examples per optimizer step.</param>
public sealed record SeedModelSpec(WorldSizes World, int WorldSeed, int VocabSize, int Hidden, int Layers, int Heads, int Epochs, double LearningRate, int BatchSize)
{
    /// <summary>Bumped when the world or the recipe changes, so no cache outlives its code.</summary>
    const int Version = 3;

    /// <summary>A short hash of everything that shapes M0: the name of its cache folder.</summary>
    public string Hash() => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{Version}:{JsonSerializer.Serialize(this)}")))[..12];
}

/// <summary>
/// The seed model of the demo: the world's data, a byte-level BPE tokenizer trained on it, and a
/// tiny Llama trained from scratch by <see cref="TrainStage"/> on policy rows (right only part of
/// the time) mixed with correctly labelled judge rows, so it judges better than it answers.
/// Everything lands in <c>&lt;cache&gt;/m0-&lt;hash&gt;/</c>; a finished folder is reused, an
/// interrupted one resumes.
/// </summary>
public static class SeedModel
{
    /// <summary>The chat template of the demo tokenizer (ChatML, as SmolLM2 and Qwen use).</summary>
    public const string ChatTemplate =
        "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
        "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

    static readonly string[] Specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"];
    // Label words of the judges and the categorizer must be single tokens.
    static readonly string[] Labels = ["Yes", "No", " A", " B", " chat", " code", " math", " safety"];

    /// <summary>The folders of a built seed model.</summary>
    /// <param name="Root">The cache folder of this spec.</param>
    /// <param name="Model">The trained model folder.</param>
    /// <param name="World">The world's data files.</param>
    public sealed record Built(string Root, string Model, string World);

    /// <summary>Builds M0 (or finds it built) under <paramref name="cacheRoot"/>.</summary>
    public static Built Build(SeedModelSpec spec, string cacheRoot, IStageProgress progress)
    {
        string root = Path.Combine(cacheRoot, $"m0-{spec.Hash()}");
        string world = Path.Combine(root, "world"), init = Path.Combine(root, "init"), train = Path.Combine(root, "train");
        var built = new Built(root, Path.Combine(train, "model"), world);
        if (File.Exists(Path.Combine(train, TrainStage.SummaryFile)))
        {
            progress.Note($"seed model: reusing {built.Model}");
            return built;
        }
        Directory.CreateDirectory(root);
        AtomicFile.WriteAllText(Path.Combine(root, "spec.json"), JsonSerializer.Serialize(spec, new JsonSerializerOptions { WriteIndented = true }) + "\n");

        var splits = WorldData.Build(spec.World, spec.WorldSeed);
        WorldFiles.Write(world, splits);
        if (!File.Exists(Path.Combine(init, ModelFolder.ConfigFile))) WriteInitialModel(spec, splits, init);
        var options = new TrainOptions
        {
            LearningRate = spec.LearningRate, Epochs = spec.Epochs, BatchSize = spec.BatchSize, WarmupRatio = 0.05, Schedule = ScheduleKind.Cosine,
            Optimizer = new AdamWOptions(WeightDecay: 0.01), Seed = (ulong)spec.WorldSeed, CheckpointEvery = 200, MaxLength = 1024, MaxPromptLength = 960,
            GroupByLength = true, Lora = null,
        };
        progress.Note($"seed model: training M0 from scratch in {train}");
        TrainStage.Run(new TrainJob(init, Path.Combine(world, WorldFiles.SeedSft), train, options, Loss: null, DType: ScalarType.Float32), progress);
        return built;
    }

    static void WriteInitialModel(SeedModelSpec spec, WorldSplits splits, string folder)
    {
        Directory.CreateDirectory(folder);
        var corpus = splits.PolicySft.Concat(splits.JudgeSft).SelectMany(r => new[] { (string)r["prompt"]!, (string)r["completion"]! });
        var tokenizer = BpeTrainer.Train(corpus, spec.VocabSize, Specials, Labels);
        int vocab = tokenizer["model"]!["vocab"]!.AsObject().Count;
        var config = new JsonObject
        {
            ["architectures"] = new JsonArray("LlamaForCausalLM"),
            ["model_type"] = "llama",
            ["hidden_size"] = spec.Hidden,
            ["intermediate_size"] = spec.Hidden * 3,
            ["num_hidden_layers"] = spec.Layers,
            ["num_attention_heads"] = spec.Heads,
            ["num_key_value_heads"] = spec.Heads,
            ["head_dim"] = spec.Hidden / spec.Heads,
            ["hidden_act"] = "silu",
            ["max_position_embeddings"] = 1024,
            ["rms_norm_eps"] = 1e-5,
            ["rope_theta"] = 10000.0,
            ["tie_word_embeddings"] = true,
            ["attention_bias"] = false,
            ["mlp_bias"] = false,
            ["initializer_range"] = 0.02,
            ["vocab_size"] = vocab,
            ["bos_token_id"] = 1,
            ["eos_token_id"] = 2,
            ["pad_token_id"] = 0,
            ["torch_dtype"] = "float32",
        };
        var tokenizerConfig = new JsonObject
        {
            ["tokenizer_class"] = "PreTrainedTokenizerFast",
            ["bos_token"] = "<|im_start|>",
            ["eos_token"] = "<|im_end|>",
            ["pad_token"] = "<|endoftext|>",
            ["add_bos_token"] = false,
            ["clean_up_tokenization_spaces"] = false,
            ["model_max_length"] = 1024,
            ["chat_template"] = ChatTemplate,
        };
        var indented = new JsonSerializerOptions { WriteIndented = true };
        AtomicFile.WriteAllText(Path.Combine(folder, "tokenizer.json"), tokenizer.ToJsonString(indented) + "\n");
        AtomicFile.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), tokenizerConfig.ToJsonString(indented) + "\n");
        var parsed = ModelConfig.Parse(config, Path.Combine(folder, ModelFolder.ConfigFile));
        var tensors = RandomWeights.Create(parsed, spec.WorldSeed, ScalarType.Float32);
        try
        {
            Checkpoint.Write(folder, tensors);
        }
        finally
        {
            foreach (var t in tensors) t.Value.Dispose();
        }
        // config.json last: its presence marks a complete initial folder.
        AtomicFile.WriteAllText(Path.Combine(folder, ModelFolder.ConfigFile), config.ToJsonString(indented) + "\n");
    }
}
