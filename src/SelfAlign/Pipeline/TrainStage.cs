using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using SelfAlign.IO;
using SelfAlign.Modeling;
using SelfAlign.Modeling.Lora;
using SelfAlign.Text;
using SelfAlign.Training;
using ScalarType = TorchSharp.torch.ScalarType;

namespace SelfAlign.Pipeline;

/// <summary>A training run: SFT when <paramref name="Loss"/> is null, preference training otherwise.</summary>
/// <param name="Model">Base model folder (the reference model for preference losses).</param>
/// <param name="Data">SFT or preference JSONL.</param>
/// <param name="Output">Run folder: manifest, checkpoints, metrics, plots, <c>adapter/</c>, <c>model/</c>.</param>
/// <param name="Options">Optimization and adapter settings.</param>
/// <param name="Loss">Preference loss settings, or null for SFT.</param>
/// <param name="ChatTemplate">Render prompts with the chat template (string prompts become one user turn); false: TRL's raw-text handling.</param>
/// <param name="DType">Compute dtype of the base model (f32 for full fine-tuning); null: <see cref="ComputeDType.Fastest"/>.</param>
/// <param name="Overwrite">Replace an output folder this command did not write (or start its own over).</param>
/// <param name="Mix">SFT rows mixed into preference training, or null.</param>
/// <param name="TemplateArgs">Chat-template variables (e.g. enable_thinking), the same the candidates were sampled with.</param>
public sealed record TrainJob(string Model, string Data, string Output, TrainOptions Options, PreferenceLossOptions? Loss,
    bool ChatTemplate = true, ScalarType? DType = null, bool Overwrite = false, SftMix? Mix = null,
    IReadOnlyDictionary<string, JsonElement>? TemplateArgs = null);

/// <summary>What a finished training run reports (also <c>summary.json</c>).</summary>
public sealed record TrainSummary(int Examples, int Steps, double ReferenceSeconds, double TrainSeconds, IReadOnlyDictionary<string, double> Final);

/// <summary>
/// Trains a model on SFT or preference data and exports the result: a PEFT adapter
/// (<c>adapter/</c>, with LoRA) and a merged Hugging Face model folder (<c>model/</c>). Resumable
/// at every point: the reference log-probabilities, the training steps (from the newest
/// checkpoint) and the export; a run whose <c>summary.json</c> exists is complete.
/// </summary>
public static class TrainStage
{
    /// <summary>Written last; its presence marks a complete run.</summary>
    public const string SummaryFile = "summary.json";

    /// <summary>Runs <paramref name="job"/> (or returns the summary of the finished run).</summary>
    public static TrainSummary Run(TrainJob job, IStageProgress? progress = null)
    {
        progress ??= SilentProgress.Instance;
        job.Options.Validate();
        job.Loss?.Validate();
        string command = job.Loss is null ? "sft" : "train";
        // Every row is read and tokenized before anything is written, so bad data leaves no output behind.
        var tokenizer = Tokenizer.Load(job.Model);
        var encoder = new CompletionTokenizer(tokenizer, job.ChatTemplate ? Text.ChatTemplate.For(tokenizer, job.TemplateArgs) : null, job.Options.MaxLength, job.Options.MaxPromptLength);
        int padId = tokenizer.Special.PadId ?? tokenizer.Special.EosId ?? 0;
        if (job.Mix is not null && job.Loss is null) throw new ArgumentException("sft_mix applies to preference training; SFT trains on its own rows");
        job.Mix?.Validate();
        List<TokenizedCompletion> ReadSft(string file) => TrainingData.ReadSft(file).Select(r => Encode(encoder, r.Prompt, r.Completion, file, r.Line)).ToList();
        List<TokenizedCompletion>? examples = null, mixed = job.Mix is null ? null : ReadSft(job.Mix.Data);
        List<TokenizedPair>? pairs = null;
        if (job.Loss is null) examples = ReadSft(job.Data);
        else
        {
            var rows = TrainingData.ReadPreferences(job.Data);
            if (job.Loss.Kind == PreferenceLossKind.Pso && rows.FirstOrDefault(r => r.Strength is null) is { } bare)
                throw new Data.DataFormatException(job.Data, bare.Line, "the PSO loss needs a 'strength' on every pair (pairs from the pairwise judge have one)");
            pairs = rows.Select(r => new TokenizedPair(r.Id, Encode(encoder, r.Prompt, r.Chosen, job.Data, r.Line),
                Encode(encoder, r.Prompt, r.Rejected, job.Data, r.Line), r.Strength)).ToList();
        }

        ModelFolder.Check(job.Model);
        OutputGuard.ClaimFolder(job.Output, command, [new("model", job.Model), new("training data", job.Data), new("mixed SFT data", job.Mix?.Data)], job.Overwrite);
        Directory.CreateDirectory(job.Output);
        RunManifest.WriteOrCheck(Path.Combine(job.Output, OutputGuard.FolderManifest), command, Config(job));
        string summaryPath = Path.Combine(job.Output, SummaryFile);
        if (File.Exists(summaryPath)) return ReadSummary(summaryPath);

        using var model = ModelFolder.Load(job.Model, new LoadOptions(job.DType));
        var clock = Stopwatch.StartNew();
        ITrainingObjective objective;
        double referenceSeconds = 0;
        if (examples is not null) objective = new SftObjective(model, examples, padId);
        else
        {
            var bar = progress.Begin("reference log-probs", pairs!.Count);
            int computed = 0;
            var reference = ReferenceLogProbs.Load(model, pairs, Path.Combine(job.Output, "reference_logps.jsonl"), padId,
                onPairs: n => { computed += n; bar.Increment(n); });
            bar.Increment(pairs.Count - computed);   // the pairs a resumed run found cached
            referenceSeconds = clock.Elapsed.TotalSeconds;
            var preference = new PreferenceObjective(model, pairs, reference, job.Loss!, padId);
            objective = mixed is null ? preference : new SftMixObjective(preference, new SftObjective(model, mixed, padId), job.Mix!, job.Options.Seed);
        }

        IProgressTask? steps = null;
        int total = 0;
        var trainer = new Trainer(model, job.Options, job.Output)
        {
            OnResume = step =>
            {
                progress.Note($"Resuming training from the checkpoint at step {step} of {total}.");
                steps!.Increment(step);
            },
            OnStep = p =>
            {
                steps!.Increment(1);
                steps.Describe($"training loss {p.Loss:F4} {p.TokensPerSecond:F0} tok/s");
            },
        };
        total = trainer.TotalSteps(objective.Count);
        steps = progress.Begin("training", total);
        var trainClock = Stopwatch.StartNew();
        trainer.Run(objective);
        double trainSeconds = trainClock.Elapsed.TotalSeconds;

        if (trainer.Adapter is LoraAdapter adapter)
        {
            PeftAdapter.Save(adapter, Path.Combine(job.Output, "adapter"), job.Model);
            model.Adapter = null;
            adapter.MergeInto(model);
            adapter.Dispose();
        }
        ModelFolder.Save(model, Path.Combine(job.Output, "model"), job.Model);
        string metrics = Path.Combine(job.Output, Trainer.MetricsFile);
        TrainingPlots.Write(metrics, Path.Combine(job.Output, "plots"));
        var summary = new TrainSummary(objective.Count, trainer.TotalSteps(objective.Count), referenceSeconds, trainSeconds, LastRow(metrics));
        AtomicFile.WriteAllText(summaryPath, JsonSerializer.Serialize(summary, new JsonSerializerOptions(Snake) { WriteIndented = true }) + "\n");
        progress.Note($"wrote {Path.Combine(job.Output, "model")}" + (job.Options.Lora is null ? "" : $" and {Path.Combine(job.Output, "adapter")}"));
        return summary;
    }

    static TrainSummary ReadSummary(string path)
    {
        var bytes = Data.JsonRecords.ReadUtf8(path);
        try
        {
            return JsonSerializer.Deserialize<TrainSummary>(bytes, Snake) ?? throw new JsonException("empty");
        }
        catch (JsonException e)
        {
            throw new Data.DataFormatException(path, (int)(e.LineNumber ?? 0) + 1, $"damaged summary ({JsonMessages.Describe(e)}); delete it to finish the run again");
        }
    }

    static TokenizedCompletion Encode(CompletionTokenizer encoder, ExamplePrompt prompt, string completion, string file, int line)
    {
        try
        {
            return encoder.Encode(prompt, completion);
        }
        catch (ArgumentException e)
        {
            throw new Data.DataFormatException(file, line, e.Message);
        }
    }

    static Dictionary<string, double> LastRow(string metrics) =>
        File.ReadLines(metrics).LastOrDefault(l => l.Length > 0) is string line
            ? JsonNode.Parse(line)!.AsObject().Where(kv => kv.Value is JsonValue).ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<double>())
            : [];

    /// <summary>The job as its manifest records it: a resumed run must present the same.</summary>
    public static JsonObject Config(TrainJob job) => new JsonObject
    {
        ["model"] = job.Model,
        ["data"] = job.Data,
        ["data_sha256"] = RunManifest.FileSha256(job.Data),
        ["options"] = JsonSerializer.SerializeToNode(job.Options, Snake),
        ["loss"] = job.Loss is null ? "sft" : JsonSerializer.SerializeToNode(job.Loss, Snake),
        ["chat_template"] = job.ChatTemplate,
        ["sft_mix"] = job.Mix is null ? null : new JsonObject
        {
            ["data"] = job.Mix.Data, ["data_sha256"] = RunManifest.FileSha256(job.Mix.Data), ["weight"] = job.Mix.Weight, ["per_pair"] = job.Mix.PerPair,
        },
        ["dtype"] = (job.DType ?? ComputeDType.Fastest).ToString(),
    }.WithTemplateArgs(job.TemplateArgs);

    static readonly JsonSerializerOptions Snake = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };
}
