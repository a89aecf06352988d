using System.Text.Json;
using System.Text.Json.Serialization;
using SelfAlign.Data;

namespace SelfAlign.Pipeline;

/// <summary>
/// The configuration file of <c>selfalign iterate</c> (JSON, snake_case keys; unknown keys are
/// refused). Relative paths are relative to the file's folder.
/// </summary>
public sealed record IterateConfig
{
    /// <summary>Run name: the run folder is <c>&lt;runs&gt;/&lt;name&gt;</c>.</summary>
    public string Name { get; init; } = "";
    /// <summary>The starting model (a Hugging Face folder): the model of iteration 1, or of the SFT stage before it.</summary>
    public string SeedModel { get; init; } = "";
    /// <summary>Prompt pool JSONL.</summary>
    public string Prompts { get; init; } = "";
    /// <summary>Prompts per iteration, disjoint across iterations, drawn by the seed (0: the whole pool every time).</summary>
    public int PromptsPerIteration { get; init; }
    /// <summary>Number of iterations (M0 -> M1 -> ...).</summary>
    public int Iterations { get; init; } = 2;
    /// <summary>Seed of prompt draws, sampling, judging and training.</summary>
    public ulong Seed { get; init; }
    /// <summary>Compute dtype: bf16 or f32.</summary>
    public string Dtype { get; init; } = "bf16";
    /// <summary>Candidate sampling.</summary>
    public GenerateSection Generate { get; init; } = new();
    /// <summary>The judge.</summary>
    public JudgeSection Judge { get; init; } = new();
    /// <summary>The pair rule.</summary>
    public PairSection Pair { get; init; } = new();
    /// <summary>Supervised fine-tuning before iteration 1, or none.</summary>
    public SftSection? Sft { get; init; }
    /// <summary>The loss and optimization.</summary>
    public TrainSection Train { get; init; } = new();
    /// <summary>Evaluation after each iteration, or none.</summary>
    public EvalSection? Eval { get; init; }

    /// <summary>Candidate sampling (IPO: N=4, T=0.7, top-k 40).</summary>
    public sealed record GenerateSection(int Samples = 4, double Temperature = 0.7, int TopK = 40, double TopP = 1.0, int MaxNewTokens = 256, int BatchSize = 32);
    /// <summary>The judge: yesno, additive or pairwise, with its prompt set, layout and category.</summary>
    public sealed record JudgeSection(string Kind = "yesno", string Prompts = "ipo-dpo", string Format = "chat", string Category = "chat",
        int AdditiveSamples = 3, int BatchTokens = 4096);
    /// <summary>The pair rule.</summary>
    public sealed record PairSection(double MinMargin = 0, double Eta = 0.5);
    /// <summary>LoRA settings (unused with <see cref="OptimizationSection.FullFineTuning"/>).</summary>
    public sealed record LoraSection(int R = 16, double Alpha = 32, double Dropout = 0.05, string[]? TargetModules = null, bool UseRslora = false);

    /// <summary>
    /// Optimization settings shared by the SFT stage and preference training: the config file's flat
    /// snake_case form of <see cref="Training.TrainOptions"/> (weight decay and the adapter inline).
    /// </summary>
    public abstract record OptimizationSection
    {
        /// <summary>Peak learning rate.</summary>
        public double LearningRate { get; init; } = 5e-5;
        /// <summary>Passes over the data.</summary>
        public int Epochs { get; init; } = 1;
        /// <summary>Examples (pairs) per forward pass.</summary>
        public int BatchSize { get; init; } = 4;
        /// <summary>Forward passes per optimizer step.</summary>
        public int GradientAccumulation { get; init; } = 1;
        /// <summary>Gradient norm clip (0: none).</summary>
        public double MaxGradNorm { get; init; } = 1.0;
        /// <summary>Fraction of the steps spent warming up.</summary>
        public double WarmupRatio { get; init; } = 0.1;
        /// <summary>cosine, linear or constant.</summary>
        public string Schedule { get; init; } = "cosine";
        /// <summary>AdamW's decoupled weight decay.</summary>
        public double WeightDecay { get; init; }
        /// <summary>Optimizer steps between checkpoints.</summary>
        public int CheckpointEvery { get; init; } = 50;
        /// <summary>Most prompt + completion tokens.</summary>
        public int MaxLength { get; init; } = 1024;
        /// <summary>Most prompt tokens.</summary>
        public int MaxPromptLength { get; init; } = 512;
        /// <summary>The adapter (defaults when absent).</summary>
        public LoraSection? Lora { get; init; }
        /// <summary>Train every weight in float32 instead of an adapter.</summary>
        public bool FullFineTuning { get; init; }
    }

    /// <summary>The preference loss (dpo, ipo, pso, cdpo) and its optimization.</summary>
    public sealed record TrainSection : OptimizationSection
    {
        /// <summary>dpo, ipo, pso or cdpo.</summary>
        public string Loss { get; init; } = "dpo";
        /// <summary>β of the loss.</summary>
        public double Beta { get; init; } = 0.1;
        /// <summary>cDPO's ε.</summary>
        public double LabelSmoothing { get; init; }
        /// <summary>Weight of the chosen-response NLL term (TRL's rpo_alpha).</summary>
        public double NllWeight { get; init; }
    }

    /// <summary>Supervised fine-tuning of the seed model on instruction data before iteration 1 (the papers' IFT step).</summary>
    public sealed record SftSection : OptimizationSection
    {
        /// <summary>SFT JSONL (prompt/completion or messages rows).</summary>
        public string Data { get; init; } = "";
    }

    /// <summary>Preference-benchmark files to judge with each new model (yes/no judge), at most <c>limit_per_subset</c> records per subset.</summary>
    public sealed record EvalSection(string[]? Prefbench = null, int LimitPerSubset = 20);

    static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    /// <summary>Reads and checks a config file; errors name the file, line and field.</summary>
    public static IterateConfig Load(string file)
    {
        if (!File.Exists(file)) throw new FileNotFoundException($"{file}: file not found");
        IterateConfig config;
        try
        {
            config = JsonSerializer.Deserialize<IterateConfig>(File.ReadAllText(file), Options) ?? throw new DataFormatException(file, 1, "empty config");
        }
        catch (JsonException e)
        {
            throw new DataFormatException(file, (int)(e.LineNumber ?? 0) + 1, $"{e.Path}: {e.Message.Split(" Path:")[0]}");
        }
        string dir = Path.GetDirectoryName(Path.GetFullPath(file))!;
        string Resolve(string path) => Path.GetFullPath(Path.Combine(dir, path));
        void Require(bool ok, string field, string why)
        {
            if (!ok) throw new DataFormatException(file, 1, $"'{field}': {why}");
        }
        Require(config.Name.Length > 0 && config.Name.IndexOfAny(Path.GetInvalidFileNameChars()) < 0 && config.Name is not ("." or ".."), "name", "needs a plain folder name");
        Require(config.SeedModel.Length > 0, "seed_model", "needs the model folder of iteration 1");
        Require(config.Prompts.Length > 0, "prompts", "needs a prompts JSONL file");
        Require(config.Iterations >= 1, "iterations", "must be at least 1");
        Require(config.PromptsPerIteration >= 0, "prompts_per_iteration", "must be >= 0");
        Require(config.Dtype is "bf16" or "f32", "dtype", "must be bf16 or f32");
        Require(config.Judge.Kind is "yesno" or "additive" or "pairwise", "judge.kind", "must be yesno, additive or pairwise");
        Require(config.Judge.Format is "chat" or "plain", "judge.format", "must be chat or plain");
        Require(config.Judge.Category == JudgeStage.AutoCategory || Judging.Categories.Normalize(config.Judge.Category) is not null, "judge.category",
            "must be chat, code, math, safety or auto");
        Require(config.Train.Loss is "dpo" or "ipo" or "pso" or "cdpo", "train.loss", "must be dpo, ipo, pso or cdpo");
        Require(config.Train.Loss != "pso" || config.Judge.Kind == "pairwise", "train.loss", "pso needs preference strengths, which only the pairwise judge gives");
        Require(config.Train.Schedule is "cosine" or "linear" or "constant", "train.schedule", "must be cosine, linear or constant");
        Require(config.Sft is null || config.Sft.Data.Length > 0, "sft.data", "needs an SFT JSONL file");
        Require(config.Sft is null || config.Sft.Schedule is "cosine" or "linear" or "constant", "sft.schedule", "must be cosine, linear or constant");
        Require(config.Generate.Samples >= 2, "generate.samples", "a pair needs at least 2 candidates per prompt");
        return config with
        {
            SeedModel = Resolve(config.SeedModel),
            Prompts = Resolve(config.Prompts),
            Sft = config.Sft is { } sft ? sft with { Data = Resolve(sft.Data) } : null,
            Eval = config.Eval is { } ev ? ev with { Prefbench = ev.Prefbench?.Select(Resolve).ToArray() } : null,
        };
    }

    /// <summary>The config as JSON, paths resolved: what the run manifest records.</summary>
    public System.Text.Json.Nodes.JsonObject ToJson() => JsonSerializer.SerializeToNode(this, Options)!.AsObject();
}
