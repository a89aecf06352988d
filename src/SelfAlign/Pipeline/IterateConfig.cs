using System.Text.Json;
using System.Text.Json.Serialization;
using SelfAlign.Data;
using SelfAlign.Evaluation;
using SelfAlign.Judging;
using SelfAlign.Modeling;
using SelfAlign.Modeling.Lora;
using SelfAlign.Text;
using SelfAlign.Training;

namespace SelfAlign.Pipeline;

/// <summary>
/// The configuration file of <c>selfalign iterate</c> (JSON, snake_case keys; unknown keys are
/// refused). Relative paths are relative to the file's folder. Every value is checked when the
/// file is read, and every input it names before the first stage runs.
/// </summary>
public sealed record IterateConfig
{
    /// <summary>Run name: the run folder is <c>&lt;runs&gt;/&lt;name&gt;</c>.</summary>
    public string Name { get; init; } = "";
    /// <summary>The starting model (a Hugging Face folder): the model of iteration 1, or of the SFT stage before it.</summary>
    public string SeedModel { get; init; } = "";
    /// <summary>Prompt pool JSONL; may be left out when <see cref="SelfInstruct"/> writes every iteration's prompts.</summary>
    public string Prompts { get; init; } = "";
    /// <summary>Prompts per iteration, disjoint across iterations, drawn by the seed (0: the whole pool every time).</summary>
    public int PromptsPerIteration { get; init; }
    /// <summary>Number of iterations (M0 -> M1 -> ...).</summary>
    public int Iterations { get; init; } = 2;
    /// <summary>Seed of prompt draws, sampling, judging and training.</summary>
    public ulong Seed { get; init; }
    /// <summary>Compute dtype: auto (bf16 where the CPU computes it natively, else f32), bf16 or f32.</summary>
    public string Dtype { get; init; } = "auto";
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
    /// <summary>Evaluation of the seed model and of each iteration's model, or none.</summary>
    public EvalSection? Eval { get; init; }
    /// <summary>Prompts the model writes for each iteration (self-instruction creation), added to the pool's slice; left out of the manifest when absent.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public SelfInstructSection? SelfInstruct { get; init; }
    /// <summary>Inference servers that generate and judge, each iteration's adapter loaded onto them; left out of the manifest when absent.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public EngineSection? Engine { get; init; }
    /// <summary>
    /// Chat-template variables every stage renders with (e.g. <c>{"enable_thinking": false}</c> for
    /// Qwen3), so a candidate is judged and trained on the prompt it was sampled from. Left out of
    /// the manifest when absent.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Dictionary<string, JsonElement>? TemplateArgs { get; init; }

    /// <summary>
    /// Servers holding the seed model (vLLM started with runtime LoRA updating, or SGLang, or
    /// <c>selfalign serve</c>): the loop generates and judges there, trains here, and after each
    /// training loads the adapter of the new model onto every server (the adapters so far, stacked
    /// into one: <see cref="Modeling.Lora.AdapterStack"/>). <c>adapter_root</c>: the run folder as the
    /// servers see it, when they mount it elsewhere.
    /// </summary>
    public sealed record EngineSection(string[]? Endpoints = null, string Kind = "vllm", string? Model = null, string? AdapterRoot = null, int Concurrency = 4)
    {
        /// <summary>The remote engine's options, serving <paramref name="model"/> (the base model when null).</summary>
        public Inference.Remote.RemoteEngineOptions Options(string? model) => new()
        {
            Endpoints = [.. (Endpoints ?? []).Select(e => new Uri(e))], Model = model ?? Model, ConcurrencyPerEndpoint = Concurrency,
            Kind = Inference.Remote.RemoteEngineOptions.ParseKind(Kind) ?? Inference.Remote.ServerKind.Vllm,
        };
    }

    /// <summary>Candidate sampling (IPO: N=4, T=0.7, top-k 40).</summary>
    public sealed record GenerateSection(int Samples = 4, double Temperature = 0.7, int TopK = 40, double TopP = 1.0, int MaxNewTokens = 256, int BatchSize = 32);
    /// <summary>
    /// The judge: yesno, additive or pairwise (the model itself, with its prompt set, layout and
    /// category), verifier (the checks of a task file, by prompt id) or command (an external program).
    /// </summary>
    public sealed record JudgeSection(string Kind = "yesno", string Prompts = "ipo-dpo", string Format = "chat", string Category = "auto",
        int AdditiveSamples = 3, int BatchTokens = 4096, string? Tasks = null, string[]? Command = null)
    {
        /// <summary>The judge kind as the judge stage names it.</summary>
        [JsonIgnore]
        public JudgeKind JudgeKind => Enum.Parse<JudgeKind>(Kind, ignoreCase: true);
    }
    /// <summary>The pair rule.</summary>
    public sealed record PairSection(double MinMargin = 0, double Eta = 0.5, double? MinChosenScore = null, double? MaxRejectedScore = null,
        double? MinChosenQuantile = null, double? MaxRejectedQuantile = null,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] double? LengthControl = null,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] bool ScoreStrength = false)
    {
        /// <summary>The section as the pair stage's rule.</summary>
        [JsonIgnore]
        public PairRule Rule => new(MinMargin, Eta, MinChosenScore, MaxRejectedScore, MinChosenQuantile, MaxRejectedQuantile, LengthControl, ScoreStrength);
    }
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
        /// <summary>Where the decay ends (0: at zero); omitted from the manifest when 0.</summary>
        [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
        public double MinLearningRate { get; init; }
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
        /// <summary>Per-token mean log-ratios instead of sums (length-normalized DPO); omitted from the manifest when false.</summary>
        [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
        public bool LengthNormalized { get; init; }
        /// <summary>SFT rows mixed into preference training (for example judge-training data, so the judge keeps judging), or none.</summary>
        public SftMixSection? SftMix { get; init; }
    }

    /// <summary>SFT rows trained along with the pairs: <c>weight</c> times their loss is added, <c>per_pair</c> rows per pair.</summary>
    public sealed record SftMixSection(string Data = "", double Weight = 1.0, int PerPair = 1)
    {
        /// <summary>As the train stage's setting.</summary>
        [JsonIgnore]
        public SftMix Mix => new(Data, Weight, PerPair);
    }

    /// <summary>Supervised fine-tuning of the seed model on instruction data before iteration 1 (the papers' IFT step).</summary>
    public sealed record SftSection : OptimizationSection
    {
        /// <summary>SFT JSONL (prompt/completion or messages rows): one file, or several trained on as one (IFT and EFT rows, as Self-Rewarding does).</summary>
        [JsonConverter(typeof(OneOrMoreConverter))]
        public string[] Data { get; init; } = [];
    }

    /// <summary>
    /// What to measure on the seed model and after every iteration: preference-benchmark files the
    /// model judges (yes/no judge, at most <c>limit_per_subset</c> records per subset), a policy
    /// test set of verified tasks it answers, IFEval, BBH, multiple-choice question files, MT-Bench,
    /// and a head to head against a fixed model. The newer keys are left out of the manifest when absent.
    /// </summary>
    public sealed record EvalSection(string[]? Prefbench = null, int LimitPerSubset = 20, PolicySection? Policy = null,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string[]? Choice = null,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] MtBenchSection? Mtbench = null,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] WinRateSection? Winrate = null,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IfEvalSection? Ifeval = null,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] BbhSection? Bbh = null);

    /// <summary>IFEval on the shipped prompts (or <c>data</c>), the first <c>limit</c> of them (see <see cref="IfEvalJob"/>).</summary>
    public sealed record IfEvalSection(string? Data = null, int Limit = 0, int MaxNewTokens = 1280);

    /// <summary>BBH zero-shot on the shipped tasks (or the <c>data</c> folder), the first <c>limit</c> questions of each of <c>tasks</c> (all when left out; see <see cref="BbhJob"/>).</summary>
    public sealed record BbhSection(string? Data = null, string[]? Tasks = null, int Limit = 0, int MaxNewTokens = 256, bool ChatTemplate = false);

    /// <summary>MT-Bench single-answer grading by a fixed judge model (see <see cref="MtBenchJob"/>).</summary>
    public sealed record MtBenchSection(string Data = "", string Judge = "", int Turns = 2, int Limit = 0, int MaxNewTokens = 1024, int JudgeMaxNewTokens = 2048);

    /// <summary>Each model head to head against a fixed model, judged by a fixed judge (the opponent when left out; see <see cref="WinRateJob"/>).</summary>
    public sealed record WinRateSection(string Prompts = "", string Against = "", string? Judge = null, int Limit = 0, int MaxNewTokens = 512);

    /// <summary>A policy test set: each task answered greedily and <c>samples</c> times with the loop's sampling, its check deciding.</summary>
    public sealed record PolicySection(string Tasks = "", int Samples = 4);

    /// <summary>
    /// Self-instruction creation of each iteration's prompts: <c>per_iteration</c> new prompts written
    /// from the seed prompts (the pool when left out) and those of earlier iterations, by the
    /// <c>model</c>: <c>current</c> (the iteration's model), <c>start</c>
    /// (the model iteration 1 starts from) or a model folder (the paper used a fixed Llama 2-Chat 70B).
    /// </summary>
    public sealed record SelfInstructSection(int PerIteration = 0, string? SeedPrompts = null, string Model = "current", double Temperature = 0.6,
        double TopP = 0.9, int MaxNewTokens = 256, double MaxSimilarity = 0.7, int BatchSize = 16)
    {
        /// <summary>The options of one iteration's run (its seed and id prefix per iteration).</summary>
        public SelfInstructOptions Options(ulong seed, int iteration) => new(PerIteration, seed,
            new SamplingOptions { Temperature = Temperature, TopP = TopP, MaxNewTokens = MaxNewTokens }, MaxSimilarity: MaxSimilarity, BatchRows: BatchSize,
            IdPrefix: $"iter-{iteration}-self-instruct");
    }

    /// <summary>The config file it was read from (null for a config built in code).</summary>
    [JsonIgnore]
    public string? Source { get; init; }

    /// <summary>The line of each key of <see cref="Source"/>, by dotted path.</summary>
    [JsonIgnore]
    internal IReadOnlyDictionary<string, int> KeyLines { get; init; } = new Dictionary<string, int>();

    static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    /// <summary>Reads and checks a config file: every value is in range before anything runs; errors name the file, the key's line and the key.</summary>
    public static IterateConfig Load(string file)
    {
        file = Path.GetFullPath(file);
        var bytes = JsonRecords.ReadUtf8(file);
        var lines = ConfigKeys.Lines(file, bytes);
        IterateConfig config;
        try
        {
            config = JsonSerializer.Deserialize<IterateConfig>(bytes, Options) ?? throw new DataFormatException(file, 1, "the config is null; it must be a JSON object");
        }
        catch (JsonException e)
        {
            throw ConfigKeys.Explain(file, e, typeof(IterateConfig));
        }
        string dir = Path.GetDirectoryName(file)!;
        string Resolve(string path) => Path.GetFullPath(Path.Combine(dir, path));
        config = config with { Source = file, KeyLines = lines };
        config.Validate();
        return config with
        {
            SeedModel = Resolve(config.SeedModel),
            Prompts = config.Prompts.Length > 0 ? Resolve(config.Prompts) : "",
            SelfInstruct = config.SelfInstruct is { } si ? si with
            {
                SeedPrompts = si.SeedPrompts is { } seeds ? Resolve(seeds) : null,
                Model = si.Model is "current" or "start" ? si.Model : Resolve(si.Model),
            } : null,
            Judge = config.Judge with
            {
                Prompts = JudgePromptSet.BuiltIn.ContainsKey(config.Judge.Prompts) ? config.Judge.Prompts : Resolve(config.Judge.Prompts),
                Tasks = config.Judge.Tasks is { } tasks ? Resolve(tasks) : null,
            },
            Sft = config.Sft is { } sft ? sft with { Data = [.. sft.Data.Select(Resolve)] } : null,
            Train = config.Train with { SftMix = config.Train.SftMix is { } mix ? mix with { Data = Resolve(mix.Data) } : null },
            Eval = config.Eval is { } ev ? ev with
            {
                Prefbench = ev.Prefbench?.Select(Resolve).ToArray(),
                Policy = ev.Policy is { } policy ? policy with { Tasks = Resolve(policy.Tasks) } : null,
                Choice = ev.Choice?.Select(Resolve).ToArray(),
                Mtbench = ev.Mtbench is { } mt ? mt with { Data = Resolve(mt.Data), Judge = Resolve(mt.Judge) } : null,
                Winrate = ev.Winrate is { } wr ? wr with { Prompts = Resolve(wr.Prompts), Against = Resolve(wr.Against), Judge = wr.Judge is { } j ? Resolve(j) : null } : null,
                Ifeval = ev.Ifeval is { } ife ? ife with { Data = ife.Data is { } d ? Resolve(d) : null } : null,
                Bbh = ev.Bbh is { } bbh ? bbh with { Data = bbh.Data is { } d2 ? Resolve(d2) : null } : null,
            } : null,
        };
    }

    /// <summary>An error at <paramref name="key"/> (a dotted path) of the config file.</summary>
    public DataFormatException Error(string key, string why)
    {
        string? at = key;
        int line = 1;
        while (at is not null && !KeyLines.TryGetValue(at, out line)) at = at.Contains('.') ? at[..at.LastIndexOf('.')] : null;
        return new DataFormatException(Source ?? "config", at is null ? 1 : line, $"'{key}' {why}");
    }

    /// <summary>Checks every value; throws <see cref="DataFormatException"/> naming the key.</summary>
    public void Validate()
    {
        void Require(bool ok, string key, string why)
        {
            if (!ok) throw Error(key, why);
        }
        void Check(string section, Action validate)
        {
            try
            {
                validate();
            }
            catch (InvalidSettingException e)
            {
                throw Error($"{section}.{e.Setting}", e.Reason);
            }
        }
        Require(Name.Length > 0 && Name.IndexOfAny(Path.GetInvalidFileNameChars()) < 0 && Name is not ("." or ".."), "name", "needs a plain folder name");
        Require(SeedModel.Length > 0, "seed_model", "needs the model folder of iteration 1");
        Require(Prompts.Length > 0 || SelfInstruct is { SeedPrompts.Length: > 0 }, "prompts",
            "needs a prompts JSONL file (or self_instruct.seed_prompts, when the model writes every prompt)");
        Require(Iterations >= 1, "iterations", $"must be at least 1, got {Iterations}");
        Require(PromptsPerIteration >= 0, "prompts_per_iteration", $"must be >= 0 (0: the whole pool), got {PromptsPerIteration}");
        Require(Dtype is "auto" or "bf16" or "f32", "dtype", $"must be auto, bf16 or f32, got '{Dtype}'");
        Require(Generate is not null, "generate", "must be an object");
        Require(Judge is not null, "judge", "must be an object");
        Require(Pair is not null, "pair", "must be an object");
        Require(Train is not null, "train", "must be an object");
        Require(Generate!.Samples >= 2, "generate.samples", $"must be at least 2 (a pair needs two candidates), got {Generate.Samples}");
        Require(Generate.BatchSize >= 1, "generate.batch_size", $"must be at least 1, got {Generate.BatchSize}");
        Check("generate", () => Sampling.Validate());
        Require(Judge!.Kind is "yesno" or "additive" or "pairwise" or "verifier" or "command", "judge.kind",
            $"must be yesno, additive, pairwise, verifier or command, got '{Judge.Kind}'");
        Require(Judge.Kind != "verifier" || Judge.Tasks is { Length: > 0 }, "judge.tasks", "is needed by the verifier judge: a task file with a check per prompt id");
        Require(Judge.Kind != "command" || Judge.Command is { Length: > 0 } && Judge.Command[0].Length > 0, "judge.command", "is needed by the command judge: [program, arguments...]");
        Require(Judge.Format is "chat" or "plain", "judge.format", $"must be chat or plain, got '{Judge.Format}'");
        Require(Judge.Category == JudgeStage.AutoCategory || Categories.Normalize(Judge.Category) is not null, "judge.category",
            $"must be chat, code, math, safety or auto, got '{Judge.Category}'");
        Require(Judge.AdditiveSamples >= 1, "judge.additive_samples", $"must be at least 1, got {Judge.AdditiveSamples}");
        Require(Judge.BatchTokens >= 1, "judge.batch_tokens", $"must be at least 1, got {Judge.BatchTokens}");
        Require(Judge.Prompts.Length > 0, "judge.prompts", "needs a prompt set: ipo-dpo, ipo-eval or a JSON file");
        Check("pair", () => Pair!.Rule.Validate());
        Require(Judge.Kind != "pairwise" || !Pair!.Rule.FiltersScores, $"pair.{Pair!.Rule.FirstScoreFilter}", "applies to pointwise judges (yesno, additive), not the pairwise one");
        Require(Judge.Kind != "pairwise" || Pair.LengthControl is null, "pair.length_control", "applies to pointwise judges (yesno, additive), not the pairwise one");
        Require(Judge.Kind != "pairwise" || !Pair.ScoreStrength, "pair.score_strength", "applies to pointwise judges (yesno, additive); the pairwise judge gives its own strengths");
        Require(Train!.Loss is "dpo" or "ipo" or "pso" or "cdpo", "train.loss", $"must be dpo, ipo, pso or cdpo, got '{Train.Loss}'");
        Require(Train.Loss != "pso" || Judge.Kind == "pairwise" || Pair.ScoreStrength, "train.loss",
            "pso needs preference strengths: the pairwise judge's, or strengths from the scores (pair.score_strength, the ScorePSO baseline)");
        Optimization(Train, "train");
        Check("train", () => LossOptions.Validate());
        if (Train.SftMix is { } mix) Check("train", () => mix.Mix.Validate());
        if (SelfInstruct is { } si)
        {
            Require(si.PerIteration >= 1, "self_instruct.per_iteration", $"must be at least 1, got {si.PerIteration}");
            Require(si.Model.Length > 0, "self_instruct.model", "must be current, start or a model folder");
            Check("self_instruct", () => si.Options(Seed, 1).Validate());
        }
        if (Sft is not null)
        {
            Require(Sft.Data.Length > 0 && Sft.Data.All(d => d.Length > 0), "sft.data", "needs an SFT JSONL file, or a list of them");
            Optimization(Sft, "sft");
        }
        if (Engine is not null)
        {
            Require(Engine.Endpoints is { Length: > 0 } urls && urls.All(u => Uri.TryCreate(u, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"),
                "engine.endpoints", "needs the servers' http(s) URLs");
            Require(Engine.Kind is "vllm" or "sglang", "engine.kind", $"must be vllm or sglang (the servers that load adapters at run time), got '{Engine.Kind}'");
            Require(Engine.Concurrency >= 1, "engine.concurrency", $"must be at least 1, got {Engine.Concurrency}");
            Require(!Train.FullFineTuning && Sft?.FullFineTuning != true, "engine",
                "needs LoRA training: the servers keep the seed model's weights and take each iteration's adapter");
        }
        if (Eval is not null)
        {
            Require(Eval.Prefbench is { Length: > 0 } || Eval.Policy is not null || Eval.Choice is not null || Eval.Mtbench is not null || Eval.Winrate is not null
                || Eval.Ifeval is not null || Eval.Bbh is not null, "eval", "needs a prefbench list, a policy test set, ifeval, bbh, choice files, mtbench or winrate");
            if (Eval.Ifeval is { } ife) Check("eval.ifeval", () => new IfEvalJob("", Model: "", Limit: ife.Limit, MaxNewTokens: ife.MaxNewTokens).Validate());
            if (Eval.Bbh is { } bbh) Check("eval.bbh", () => new BbhJob("", "", Limit: bbh.Limit, MaxNewTokens: bbh.MaxNewTokens).Validate());
            Require(Eval.Choice is null || Eval.Choice.Length > 0 && Eval.Choice.All(c => c.Length > 0), "eval.choice", "needs at least one questions file");
            Require(Eval.Mtbench is null || Eval.Mtbench.Data.Length > 0, "eval.mtbench.data", "needs the MT-Bench folder (data/mt-bench)");
            Require(Eval.Mtbench is null || Eval.Mtbench.Judge.Length > 0, "eval.mtbench.judge",
                "needs a judge model folder: a fixed judge, so the ratings of every iteration compare");
            if (Eval.Mtbench is { } mt) Check("eval.mtbench", () => new MtBenchJob("", mt.Data, "", Turns: mt.Turns, Limit: mt.Limit, MaxNewTokens: mt.MaxNewTokens,
                JudgeMaxNewTokens: mt.JudgeMaxNewTokens).Validate());
            Require(Eval.Winrate is null || Eval.Winrate.Prompts.Length > 0, "eval.winrate.prompts", "needs a prompts file");
            Require(Eval.Winrate is null || Eval.Winrate.Against.Length > 0, "eval.winrate.against", "needs the model folder every model is compared with");
            Require(Eval.Winrate is null || Eval.Winrate.Limit >= 0, "eval.winrate.limit", $"must be >= 0 (0: all), got {Eval.Winrate?.Limit}");
            Require(Eval.Winrate is null || Eval.Winrate.MaxNewTokens >= 1, "eval.winrate.max_new_tokens", $"must be at least 1, got {Eval.Winrate?.MaxNewTokens}");
            Require(Eval.Prefbench is null || Eval.Prefbench.Length > 0, "eval.prefbench", "needs at least one preference-benchmark file or folder");
            Require(Eval.LimitPerSubset >= 0, "eval.limit_per_subset", $"must be >= 0 (0: all), got {Eval.LimitPerSubset}");
            Require(Eval.Policy is null || Eval.Policy.Tasks.Length > 0, "eval.policy.tasks", "needs a task file with checks");
            Require(Eval.Policy is null || Eval.Policy.Samples >= 1, "eval.policy.samples", $"must be at least 1, got {Eval.Policy?.Samples}");
        }

        void Optimization(OptimizationSection o, string section)
        {
            Require(o.Schedule is "cosine" or "linear" or "constant", $"{section}.schedule", $"must be cosine, linear or constant, got '{o.Schedule}'");
            Check(section, () => TrainOptions(o).Validate());
        }
    }

    /// <summary>
    /// Checks the inputs the config names before any stage runs: the seed model's config and
    /// tokenizer, every row of the prompt pool and of the SFT data, and the judge's prompt set.
    /// </summary>
    public void CheckInputs()
    {
        T Input<T>(string key, Func<T> read)
        {
            try
            {
                return read();
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or ModelFormatException)
            {
                throw Error(key, $"cannot be read: {e.Message}");
            }
            catch (InvalidSettingException e)
            {
                throw Error($"{key}.{e.Setting}", e.Reason);
            }
        }
        Input("seed_model", () => ModelFolder.Check(SeedModel));
        Input("seed_model", () => Tokenizer.Load(SeedModel));
        if (Prompts.Length > 0) Input("prompts", () => PromptFile.Read(Prompts));
        if (SelfInstruct?.SeedPrompts is { } seeds) Input("self_instruct.seed_prompts", () => PromptFile.Read(seeds));
        if (SelfInstruct?.Model is { } writer && writer is not ("current" or "start"))
        {
            Input("self_instruct.model", () => ModelFolder.Check(writer));
            Input("self_instruct.model", () => Tokenizer.Load(writer));
        }
        if (Sft is not null)
            for (int i = 0; i < Sft.Data.Length; i++)
                Input(Sft.Data.Length == 1 ? "sft.data" : $"sft.data[{i}]", () => TrainingData.ReadSft(Sft.Data[i]));
        if (Train.SftMix is { } mix) Input("train.sft_mix.data", () => TrainingData.ReadSft(mix.Data));
        if (Judge.Tasks is { } tasks) Input("judge.tasks", () => VerifiedTask.ReadFile(tasks));
        if (Eval?.Policy is { } policy) Input("eval.policy.tasks", () => VerifiedTask.ReadFile(policy.Tasks));
        for (int i = 0; i < (Eval?.Choice?.Length ?? 0); i++) Input($"eval.choice[{i}]", () => MultipleChoice.Read(Eval!.Choice![i]));
        if (Eval?.Mtbench is { } mtbench)
        {
            Input("eval.mtbench.data", () => MtBench.Read(Path.Combine(mtbench.Data, "question.jsonl"), Path.Combine(mtbench.Data, "reference_answer_gpt-4.jsonl")));
            Input("eval.mtbench.data", () => MtBench.ReadPrompts(Path.Combine(mtbench.Data, "judge_prompts.jsonl")));
            Input("eval.mtbench.judge", () => ModelFolder.Check(mtbench.Judge));
        }
        if (Eval?.Ifeval is { } ifeval) Input("eval.ifeval.data", () => IfEval.Read(ifeval.Data ?? IfEval.ShippedData));
        if (Eval?.Bbh is { } bbhEval)
        {
            string folder = bbhEval.Data ?? Evaluation.Bbh.ShippedFolder;
            Input("eval.bbh", () => Evaluation.Bbh.Load(Path.Combine(folder, Evaluation.Bbh.SettingsFile)).Read(folder, bbhEval.Tasks ?? [], 1));
        }
        if (Eval?.Winrate is { } winrate)
        {
            Input("eval.winrate.prompts", () => PromptFile.Read(winrate.Prompts));
            Input("eval.winrate.against", () => ModelFolder.Check(winrate.Against));
            if (winrate.Judge is { } judge) Input("eval.winrate.judge", () => ModelFolder.Check(judge));
        }
        try
        {
            JudgePromptSet.Get(Judge.Prompts);
        }
        catch (ArgumentException e)
        {
            throw Error("judge.prompts", e.Message);
        }
    }

    /// <summary>The seed prompts of self-instruction: its own file, else the prompt pool.</summary>
    [JsonIgnore]
    public string? SelfInstructSeeds => SelfInstruct is null ? null : SelfInstruct.SeedPrompts ?? Prompts;

    /// <summary>The sampling settings of the generate section.</summary>
    [JsonIgnore]
    public SamplingOptions Sampling => new() { Temperature = Generate.Temperature, TopK = Generate.TopK, TopP = Generate.TopP, MaxNewTokens = Generate.MaxNewTokens };

    /// <summary>The compute dtype that <see cref="Dtype"/> names, auto resolved on this machine.</summary>
    [JsonIgnore]
    public TorchSharp.torch.ScalarType ComputeType => ComputeDType.Parse(Dtype) ?? throw Error("dtype", $"must be auto, bf16 or f32, got '{Dtype}'");

    /// <summary>The preference loss of the train section.</summary>
    [JsonIgnore]
    public PreferenceLossOptions LossOptions => new(Enum.Parse<PreferenceLossKind>(Train.Loss, ignoreCase: true), Train.Beta, Train.LabelSmoothing, Train.NllWeight,
        Train.LengthNormalized);

    /// <summary>The optimization settings of an SFT or train section (the loop's seed drives init, order and dropout).</summary>
    public TrainOptions TrainOptions(OptimizationSection o)
    {
        var l = o.Lora ?? new LoraSection();
        return new TrainOptions
        {
            LearningRate = o.LearningRate, Epochs = o.Epochs, BatchSize = o.BatchSize, GradientAccumulation = o.GradientAccumulation,
            MaxGradNorm = o.MaxGradNorm, WarmupRatio = o.WarmupRatio, MinLearningRate = o.MinLearningRate,
            Schedule = Enum.TryParse<ScheduleKind>(o.Schedule, ignoreCase: true, out var kind) ? kind : ScheduleKind.Cosine,
            Optimizer = new AdamWOptions(WeightDecay: o.WeightDecay), Seed = Seed, CheckpointEvery = o.CheckpointEvery,
            MaxLength = o.MaxLength, MaxPromptLength = o.MaxPromptLength,
            Lora = o.FullFineTuning ? null : new LoraConfig(l.R, l.Alpha, l.Dropout, l.TargetModules, l.UseRslora),
        };
    }

    /// <summary>The config as JSON, paths resolved: what the run manifest records.</summary>
    public System.Text.Json.Nodes.JsonObject ToJson() => JsonSerializer.SerializeToNode(this, Options)!.AsObject();
}
