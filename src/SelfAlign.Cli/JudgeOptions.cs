using System.CommandLine;
using SelfAlign.Evaluation;
using SelfAlign.Inference;
using SelfAlign.Judging;
using SelfAlign.Modeling;

namespace SelfAlign.Cli;

/// <summary>Options of the commands that judge benchmark data with a local model.</summary>
internal sealed class JudgeOptions
{
    public readonly Option<DirectoryInfo> Model = CliOptions.Model("A Hugging Face model folder: the judge.");
    public readonly Option<string[]> Data = new("--data")
    {
        Description = "Benchmark files or folders: RewardBench-format .jsonl rows or RM-Bench .json arrays (repeatable).",
        Required = true,
        AllowMultipleArgumentsPerToken = true,
    };
    public readonly Option<int> Limit = new("--limit-per-subset") { Description = "Judge at most N records per subset, drawn by --seed (0: all).", DefaultValueFactory = _ => 0 };
    public readonly Option<ulong> Seed = new("--seed") { Description = "Seed of the subset sample and of sampled judgments.", DefaultValueFactory = _ => 0 };
    public readonly Option<string> Format = new("--format") { Description = "chat (through the chat template) or plain (the IPO authors' raw layout).", DefaultValueFactory = _ => "chat" };
    public readonly Option<string> Labels = new("--labels") { Description = "Spellings of Yes/No summed: exact, space (' Yes' too), all (also case) or encoded (every token of ' Yes' as the tokenizer encodes it, as the IPO authors' code).", DefaultValueFactory = _ => "all" };
    public readonly Option<bool> SkipInvalid = new("--skip-invalid") { Description = "Skip malformed records and count them, instead of stopping at the first." };
    public readonly Option<int> BatchTokens = new("--batch-tokens") { Description = "Most padded tokens per forward batch.", DefaultValueFactory = _ => 4096 };
    public readonly Option<string> DType = CliOptions.DType("Compute dtype: auto (bf16 where the CPU computes it natively, else f32), bf16, f32 or f16.");
    public readonly Option<DirectoryInfo?> Adapter = CliOptions.Adapter();
    public readonly Option<string[]> TemplateArgs = CliOptions.TemplateArgs();
    public readonly EngineCliOptions Engine = new();

    public IEnumerable<Option> All => [Model, Adapter, Data, Format, Labels, Limit, Seed, SkipInvalid, BatchTokens, DType, TemplateArgs, .. Engine.All];

    /// <summary>The chat-template variables given (name=value pairs).</summary>
    public Dictionary<string, System.Text.Json.JsonElement> ParseTemplateArgs(ParseResult parse) => CliOptions.ParseTemplateArgs(parse.GetValue(TemplateArgs));

    /// <summary>Checks the model folder's config and weight headers (with --engine, its tokenizer), before anything is written.</summary>
    public void CheckModel(ParseResult parse)
    {
        if (Engine.Parse(parse) is null) ModelFolder.Check(parse.GetRequiredValue(Model).FullName);
        else Text.Tokenizer.Load(parse.GetRequiredValue(Model).FullName);
    }

    /// <summary>The files and folders the command reads, for the output claim.</summary>
    public IEnumerable<IO.NamedInput> Inputs(ParseResult parse) =>
        [new("model", parse.GetRequiredValue(Model).FullName), new("adapter", parse.GetValue(Adapter)?.FullName),
         .. parse.GetRequiredValue(Data).Select(d => new IO.NamedInput("benchmark data", Path.GetFullPath(d)))];

    public JudgeFormat ParseFormat(ParseResult parse) => parse.GetValue(Format) switch
    {
        "chat" => JudgeFormat.Chat,
        "plain" => JudgeFormat.Plain,
        var f => throw new UsageException($"--format '{f}': use chat or plain"),
    };

    public LabelVariants ParseLabels(ParseResult parse) => parse.GetValue(Labels) switch
    {
        "exact" => LabelVariants.Exact,
        "space" => LabelVariants.Space,
        "all" => LabelVariants.SpaceAndCase,
        "encoded" => LabelVariants.Encoded,
        var l => throw new UsageException($"--labels '{l}': use exact, space, all or encoded"),
    };

    /// <summary>The records to judge (sampled per subset when a limit is set) and the malformed ones skipped.</summary>
    public (IReadOnlyList<BenchItem> Items, IReadOnlyList<SkippedRecord> Skipped) LoadData(ParseResult parse)
    {
        var (items, skipped) = BenchData.Load(parse.GetRequiredValue(Data), parse.GetValue(SkipInvalid));
        int limit = parse.GetValue(Limit);
        if (limit < 0) throw new UsageException("--limit-per-subset must be >= 0");
        return (limit > 0 ? BenchData.Sample(items, limit, parse.GetValue(Seed)) : items, skipped);
    }

    /// <summary>The compute dtype the command runs in, auto resolved, as its manifest records it.</summary>
    public string DTypeName(ParseResult parse) => ComputeDType.Name(CliOptions.ParseDType(parse.GetValue(DType)!));

    /// <summary>The engine: the model loaded here, or the servers of --engine; the caller disposes it.</summary>
    public OpenedEngine LoadEngine(ParseResult parse, bool fastPath = true)
    {
        var remote = Engine.Parse(parse);
        if (remote is not null && parse.GetValue(Adapter) is not null) throw new UsageException("--adapter: with --engine the server holds the weights; load the adapter there");
        return Engines.Open(parse.GetRequiredValue(Model).FullName, remote,
            new LoadOptions(CliOptions.ParseDType(parse.GetValue(DType)!), Adapter: parse.GetValue(Adapter)?.FullName), new LocalModelOptions
            {
                FastPath = fastPath, MaxBatchTokens = CliOptions.AtLeast(parse, BatchTokens, 1), TemplateVariables = ParseTemplateArgs(parse),
            });
    }

    /// <summary>The servers the run used, for its manifest (null for a local run).</summary>
    public System.Text.Json.Nodes.JsonNode? EngineRecord(ParseResult parse, OpenedEngine opened) => opened.Engine is Inference.Remote.RemoteLanguageModel remote
        ? new System.Text.Json.Nodes.JsonObject
        {
            ["kind"] = parse.GetValue(Engine.Kind), ["endpoints"] = new System.Text.Json.Nodes.JsonArray([.. parse.GetValue(Engine.Urls)!.Select(e => (System.Text.Json.Nodes.JsonNode?)e)]),
            ["model"] = remote.Model,
        }
        : null;
}
