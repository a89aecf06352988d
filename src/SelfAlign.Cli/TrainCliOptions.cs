using System.CommandLine;
using SelfAlign.Modeling.Lora;
using SelfAlign.Pipeline;
using SelfAlign.Training;
using Spectre.Console;

namespace SelfAlign.Cli;

/// <summary>Options shared by <c>sft</c> and <c>train</c>, described for the verb they serve.</summary>
/// <param name="preference">True for <c>train</c> (preference pairs), false for <c>sft</c>.</param>
internal sealed class TrainCliOptions(bool preference)
{
    public readonly Option<DirectoryInfo> Model = CliOptions.Model(preference
        ? "The model to train (a Hugging Face folder); it is also the frozen reference of the preference loss."
        : "The model to fine-tune (a Hugging Face folder).");
    public readonly Option<FileInfo> Data = new("--data")
    {
        Description = preference
            ? "Preference JSONL in TRL's format: {prompt, chosen, rejected} (e.g. from 'selfalign pair'); the PSO loss also reads 'strength'."
            : "SFT JSONL: {prompt, completion} (or 'response'), or {messages} ending with the assistant's answer.",
        Required = true,
    };
    public readonly Option<DirectoryInfo> Output = new("--out")
    {
        Description = "Run folder: manifest.json, checkpoints/, metrics.jsonl, plots/, adapter/ (PEFT) and model/ (merged)" + (preference ? ", reference_logps.jsonl." : "."),
        Required = true,
    };
    public readonly Option<double> LearningRate = new("--lr") { Description = "Peak learning rate.", DefaultValueFactory = _ => 5e-5 };
    public readonly Option<int> Epochs = new("--epochs") { Description = "Passes over the data.", DefaultValueFactory = _ => 1 };
    public readonly Option<int> BatchSize = new("--batch-size") { Description = preference ? "Pairs per forward pass." : "Examples per forward pass.", DefaultValueFactory = _ => 4 };
    public readonly Option<int> Accumulation = new("--grad-accum") { Description = "Forward passes per optimizer step.", DefaultValueFactory = _ => 1 };
    public readonly Option<double> MaxGradNorm = new("--max-grad-norm") { Description = "Gradient clipping norm (0: off).", DefaultValueFactory = _ => 1.0 };
    public readonly Option<double> Warmup = new("--warmup-ratio") { Description = "Fraction of steps spent warming up.", DefaultValueFactory = _ => 0.1 };
    public readonly Option<string> Schedule = new("--schedule") { Description = "cosine, linear or constant.", DefaultValueFactory = _ => "cosine" };
    public readonly Option<string[]> TemplateArgs = CliOptions.TemplateArgs();
    public readonly Option<double> MinLearningRate = new("--min-lr") { Description = "Where cosine or linear decay ends (default 0); the Self-Rewarding recipe: 1.1e-6 for SFT, 1e-7 for DPO." };
    public readonly Option<double> WeightDecay = new("--weight-decay") { Description = "AdamW weight decay.", DefaultValueFactory = _ => 0.0 };
    public readonly Option<ulong> Seed = new("--seed") { Description = "Seed of adapter init, data order and dropout.", DefaultValueFactory = _ => 0 };
    public readonly Option<int> CheckpointEvery = new("--checkpoint-every") { Description = "Optimizer steps between checkpoints.", DefaultValueFactory = _ => 50 };
    public readonly Option<int?> MaxSteps = new("--max-steps") { Description = "Stop after this many optimizer steps." };
    public readonly Option<int> MaxLength = new("--max-length") { Description = "Most prompt + completion tokens.", DefaultValueFactory = _ => 1024 };
    public readonly Option<int> MaxPromptLength = new("--max-prompt-length") { Description = "Most prompt tokens (the end is kept).", DefaultValueFactory = _ => 512 };
    public readonly Option<int> Rank = new("--lora-r") { Description = "LoRA rank.", DefaultValueFactory = _ => 16 };
    public readonly Option<double> Alpha = new("--lora-alpha") { Description = "LoRA alpha.", DefaultValueFactory = _ => 32 };
    public readonly Option<double> Dropout = new("--lora-dropout") { Description = "LoRA dropout.", DefaultValueFactory = _ => 0.05 };
    public readonly Option<string[]> Targets = new("--lora-targets") { Description = "Projections to adapt (default: every linear projection: q/k/v/o and gate/up/down, or Phi-3's qkv_proj, o_proj, gate_up_proj, down_proj).", AllowMultipleArgumentsPerToken = true };
    public readonly Option<bool> RsLora = new("--rslora") { Description = "Scale by alpha / sqrt(r) (rank-stabilized LoRA)." };
    public readonly Option<bool> Full = new("--full") { Description = "Full fine-tuning instead of LoRA (float32; small models)." };
    public readonly Option<bool> NoTemplate = new("--no-chat-template") { Description = "Raw text: string prompts are not wrapped in the chat template, and eos ends each completion." };
    public readonly Option<string> DType = CliOptions.DType("Compute dtype of the frozen base: auto (bf16 where the CPU computes it natively, else f32), bf16, f32 or f16.");
    public readonly Option<bool> Overwrite = CliOptions.Overwrite();

    /// <summary>The options in the order help lists them: what to train and where, then optimization, adapter and runtime.</summary>
    public IEnumerable<Option> All => [Model, Data, Output, LearningRate, Epochs, BatchSize, Accumulation, MaxSteps, Schedule, MinLearningRate, Warmup, TemplateArgs, WeightDecay, MaxGradNorm,
        MaxLength, MaxPromptLength, Rank, Alpha, Dropout, Targets, RsLora, Full, NoTemplate, Seed, CheckpointEvery, DType, Overwrite];

    public TrainJob Job(ParseResult parse, PreferenceLossOptions? loss)
    {
        var options = new TrainOptions
        {
            LearningRate = parse.GetValue(LearningRate),
            Epochs = parse.GetValue(Epochs),
            BatchSize = parse.GetValue(BatchSize),
            GradientAccumulation = parse.GetValue(Accumulation),
            MaxGradNorm = parse.GetValue(MaxGradNorm),
            WarmupRatio = parse.GetValue(Warmup),
            Schedule = parse.GetValue(Schedule) switch
            {
                "cosine" => ScheduleKind.Cosine,
                "linear" => ScheduleKind.Linear,
                "constant" => ScheduleKind.Constant,
                var s => throw new UsageException($"--schedule '{s}': use cosine, linear or constant"),
            },
            MinLearningRate = parse.GetValue(MinLearningRate),
            Optimizer = new AdamWOptions(WeightDecay: parse.GetValue(WeightDecay)),
            Seed = parse.GetValue(Seed),
            CheckpointEvery = parse.GetValue(CheckpointEvery),
            MaxSteps = parse.GetValue(MaxSteps),
            MaxLength = parse.GetValue(MaxLength),
            MaxPromptLength = parse.GetValue(MaxPromptLength),
            Lora = parse.GetValue(Full) ? null : new LoraConfig(parse.GetValue(Rank), parse.GetValue(Alpha), parse.GetValue(Dropout),
                parse.GetValue(Targets) is { Length: > 0 } t ? t : null, parse.GetValue(RsLora)),
        };
        var dtype = parse.GetValue(Full) ? TorchSharp.torch.ScalarType.Float32 : CliOptions.ParseDType(parse.GetValue(DType)!);
        return new TrainJob(parse.GetRequiredValue(Model).FullName, parse.GetRequiredValue(Data).FullName, parse.GetRequiredValue(Output).FullName,
            options, loss, !parse.GetValue(NoTemplate), dtype, parse.GetValue(Overwrite), TemplateArgs: CliOptions.ParseTemplateArgs(parse.GetValue(TemplateArgs)));
    }

    /// <summary>Prints the last step's metrics.</summary>
    public static void Report(TrainJob job, TrainSummary summary)
    {
        var table = new Table().Border(TableBorder.Rounded).AddColumn("metric").AddColumn("last step");
        table.AddRow("examples", summary.Examples.ToString());
        table.AddRow("steps", summary.Steps.ToString());
        foreach (var (k, v) in summary.Final.Where(kv => kv.Key != "step")) table.AddRow(k, v.ToString("G5"));
        var console = CliConsole.Out();
        console.Write(table);
        console.MarkupLine($"metrics and plots in [bold]{Markup.Escape(job.Output)}[/]");
    }
}
