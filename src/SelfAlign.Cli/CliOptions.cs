using System.CommandLine;
using System.Text.Json;
using SelfAlign.Modeling;
using SelfAlign.Pipeline;
using static TorchSharp.torch;

namespace SelfAlign.Cli;

/// <summary>Options shared by several commands, and their effect on the runtime.</summary>
internal static class CliOptions
{
    public static readonly Option<int> Threads = new("--threads")
    {
        Description = "CPU threads for tensor math (default: all cores).",
        Recursive = true,
        DefaultValueFactory = _ => Environment.ProcessorCount,
    };

    /// <summary>The compute dtype of a command that runs a model: auto unless the user names one.</summary>
    public static Option<string> DType(string description, string defaultName = "auto") => new("--dtype")
    {
        Description = description,
        DefaultValueFactory = _ => defaultName,
    };

    public static Option<DirectoryInfo> Model(string description) => new("--model")
    {
        Description = description,
        Required = true,
    };

    public static Option<DirectoryInfo?> Adapter() => new("--adapter")
    {
        Description = "A PEFT LoRA adapter folder (adapter_config.json, adapter_model.safetensors) merged into the model's weights.",
    };

    /// <summary>The option that lets a command replace an output it did not write, or start its own again.</summary>
    public static Option<bool> Overwrite() => new("--overwrite")
    {
        Description = "Replace what --out holds even if this command did not write it (or start its own output over). Without it, an output this command made is resumed and any other is left alone.",
    };

    public static Option<string[]> TemplateArgs() => new("--template-arg")
    {
        Description = "Extra chat-template variable as name=value (JSON value, else a string), e.g. enable_thinking=false. Repeatable.",
        AllowMultipleArgumentsPerToken = false,
    };

    /// <summary>Parses <c>name=value</c> template arguments; the value is JSON when it parses as JSON.</summary>
    public static Dictionary<string, JsonElement> ParseTemplateArgs(string[]? args)
    {
        var result = new Dictionary<string, JsonElement>();
        foreach (string arg in args ?? [])
        {
            int eq = arg.IndexOf('=');
            if (eq <= 0) throw new UsageException($"--template-arg '{arg}': expected name=value");
            string value = arg[(eq + 1)..];
            JsonElement parsed;
            try
            {
                parsed = JsonDocument.Parse(value).RootElement.Clone();
            }
            catch (JsonException)
            {
                parsed = JsonSerializer.SerializeToElement(value);
            }
            result[arg[..eq]] = parsed;
        }
        return result;
    }

    /// <summary>Applies the runtime options of a parsed command line.</summary>
    public static void Apply(ParseResult parse)
    {
        int threads = parse.GetValue(Threads);
        if (threads < 1) throw new UsageException($"--threads must be at least 1, got {threads}");
        TorchRuntime.Configure(threads);
    }

    /// <summary>An integer option's value, which must be at least <paramref name="min"/>.</summary>
    public static int AtLeast(ParseResult parse, Option<int> option, int min)
    {
        int value = parse.GetValue(option);
        return value >= min ? value : throw new UsageException($"{option.Name} must be at least {min}, got {value}");
    }

    /// <summary>What to do with a prompt that does not fit the model's positions.</summary>
    public static Option<string> LongPrompts() => new("--long-prompts")
    {
        Description = "A prompt that, with --max-new-tokens, does not fit the model's positions: refuse (stop, naming it) or truncate (keep its last tokens).",
        DefaultValueFactory = _ => "refuse",
    };

    /// <summary>Parses <see cref="LongPrompts"/>.</summary>
    public static LongPromptPolicy ParseLongPrompts(string name) => name switch
    {
        "refuse" => LongPromptPolicy.Refuse,
        "truncate" => LongPromptPolicy.Truncate,
        _ => throw new UsageException($"--long-prompts '{name}': use refuse or truncate"),
    };

    /// <summary>Parses a dtype name as users write it (auto, bf16, f32, f16 and their long forms).</summary>
    public static ScalarType ParseDType(string name) =>
        ComputeDType.Parse(name) ?? throw new UsageException($"--dtype '{name}': use {ComputeDType.Names}");
}
