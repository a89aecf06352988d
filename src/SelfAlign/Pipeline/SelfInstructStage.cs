using System.Text.Json;
using System.Text.Json.Nodes;
using SelfAlign.Data;
using SelfAlign.Inference;
using SelfAlign.IO;
using SelfAlign.Modeling;
using SelfAlign.Text;
using ScalarType = TorchSharp.torch.ScalarType;

namespace SelfAlign.Pipeline;

/// <summary>A self-instruction run: the model that writes prompts, the seed prompts it imitates and where new prompts go.</summary>
/// <param name="Model">The model folder.</param>
/// <param name="SeedPrompts">Seed prompts in a prompt file's format (an SFT file's prompts serve too); a conversation counts by its first user turn.</param>
/// <param name="Output">New prompts JSONL (appended to when resuming), a prompt file the loop can read.</param>
/// <param name="Options">How many prompts, sampling, demonstrations and filters.</param>
/// <param name="DType">Compute dtype; null: <see cref="ComputeDType.Fastest"/>.</param>
/// <param name="Adapter">A PEFT adapter folder merged into the model, or null.</param>
/// <param name="Overwrite">Replace an output this command did not write (or start its own over).</param>
/// <param name="Earlier">Prompt files of earlier runs: demonstrations, and filtered against as the new prompts are.</param>
public sealed record SelfInstructJob(string Model, string SeedPrompts, string Output, SelfInstructOptions Options,
    ScalarType? DType = null, string? Adapter = null, bool Overwrite = false, IReadOnlyList<string>? Earlier = null);

/// <summary>Loads the model and runs <see cref="SelfInstruct"/> for a job, with its output claim and manifest.</summary>
public static class SelfInstructStage
{
    /// <summary>Runs <paramref name="job"/>.</summary>
    public static SelfInstructSummary Run(SelfInstructJob job, IStageProgress? progress = null)
    {
        job.Options.Validate();
        var seeds = Seeds(job.SeedPrompts);
        var earlier = (job.Earlier ?? []).SelectMany(Seeds).ToList();
        ModelFolder.Check(job.Model);
        OutputGuard.ClaimFile(job.Output, "self-instruct",
            [new("seed prompts", job.SeedPrompts), new("model", job.Model), new("adapter", job.Adapter), .. (job.Earlier ?? []).Select(e => new NamedInput("earlier prompts", e))],
            job.Overwrite);
        var o = job.Options;
        RunManifest.WriteOrCheck(OutputGuard.ManifestOf(job.Output), "self-instruct", new JsonObject
        {
            ["model"] = job.Model,
            ["adapter"] = Modeling.Lora.PeftAdapter.ManifestRecord(job.Adapter),
            ["seed_prompts"] = job.SeedPrompts,
            ["seed_prompts_sha256"] = RunManifest.FileSha256(job.SeedPrompts),
            ["earlier_prompts"] = new JsonArray([.. (job.Earlier ?? []).Select(e => (JsonNode?)e)]),
            ["seed"] = o.Seed,
            ["sampling"] = JsonSerializer.SerializeToNode(o.EffectiveSampling),
            ["seed_shots"] = o.SeedShots,
            ["generated_shots"] = o.GeneratedShots,
            ["max_similarity"] = o.MaxSimilarity,
            ["batch_size"] = o.BatchRows,
            ["dtype"] = (job.DType ?? ComputeDType.Fastest).ToString(),
        });
        using var model = ModelFolder.Load(job.Model, new LoadOptions(job.DType, Adapter: job.Adapter));
        return SelfInstruct.Run(new LocalLanguageModel(model, Tokenizer.Load(job.Model)), seeds, job.Output, o, progress, earlier);
    }

    /// <summary>The prompts' texts: a plain prompt as it is, a conversation by its first user turn.</summary>
    static List<string> Seeds(string file) => [.. PromptFile.Read(file).Select(r => r.Text ?? FirstUser(r.Messages!.Value, file, r.Line))];

    static string FirstUser(JsonElement messages, string file, int line) =>
        messages.EnumerateArray().FirstOrDefault(m => m.TryGetProperty("role", out var role) && role.GetString() == "user") is { ValueKind: JsonValueKind.Object } user
            ? user.GetProperty("content").GetString()!
            : throw new DataFormatException(file, line, "the conversation has no user turn to imitate");
}
