using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using SelfAlign.Data;
using SelfAlign.IO;
using SelfAlign.Modeling;
using SelfAlign.Modeling.Lora;
using SelfAlign.Modeling.Safetensors;
using TorchSharp;
using static TorchSharp.torch;

namespace SelfAlign.Training;

/// <summary>A loss or gradient became NaN or infinite; the last good checkpoint is kept.</summary>
public sealed class TrainingDivergedException(string message) : Exception(message);

/// <summary>One finished optimizer step, for progress displays.</summary>
public sealed record TrainProgress(int Step, int TotalSteps, double Loss, double TokensPerSecond);

/// <summary>
/// The training loop: seeded shuffles per epoch, gradient accumulation, clipping, AdamW on a
/// schedule, a <c>metrics.jsonl</c> row per step and checkpoints every K steps. A run started
/// again on the same folder resumes from its newest checkpoint and reaches the same weights, bit
/// for bit, as an uninterrupted run: the data order, the dropout masks and the schedule depend
/// only on the seed and the step.
/// </summary>
/// <param name="model">The model; with LoRA its weights stay frozen and an adapter is attached to it.</param>
/// <param name="options">Settings.</param>
/// <param name="folder">Where checkpoints and metrics go.</param>
public sealed class Trainer(CausalLm model, TrainOptions options, string folder)
{
    /// <summary>File of per-step metrics.</summary>
    public const string MetricsFile = "metrics.jsonl";
    const string CheckpointsDir = "checkpoints";

    /// <summary>The trained adapter, once <see cref="Run"/> has created it (null for full fine-tuning).</summary>
    public LoraAdapter? Adapter { get; private set; }

    /// <summary>Called once, with the step reached, when a run resumes from a checkpoint.</summary>
    public Action<int>? OnResume { get; init; }

    /// <summary>Called after every optimizer step.</summary>
    public Action<TrainProgress>? OnStep { get; init; }

    /// <summary>Optimizer steps a run over <paramref name="examples"/> takes.</summary>
    public int TotalSteps(int examples) => options.MaxSteps ?? Shape(examples).StepsPerEpoch * options.Epochs;

    /// <summary>Forward passes and optimizer steps per epoch; an epoch's last step may take fewer passes.</summary>
    (int Batches, int StepsPerEpoch) Shape(int examples)
    {
        int batches = (examples + options.BatchSize - 1) / options.BatchSize;
        return (batches, (batches + options.GradientAccumulation - 1) / options.GradientAccumulation);
    }

    /// <summary>Trains to the last step (resuming if the folder holds checkpoints) and returns the number of steps taken in this call.</summary>
    public int Run(ITrainingObjective objective)
    {
        options.Validate();
        Directory.CreateDirectory(folder);
        var parameters = Trainables();
        using var optimizer = new AdamW(parameters, options.Optimizer);
        var (batches, perEpoch) = Shape(objective.Count);
        int total = TotalSteps(objective.Count);
        var schedule = new LearningRateSchedule(options.LearningRate, options.Schedule, total, LearningRateSchedule.Warmup(options.WarmupRatio, total),
            options.MinLearningRate);

        int start = Resume(parameters, optimizer);
        if (start > 0) OnResume?.Invoke(start);
        KeepMetricsUpTo(start);
        using var metrics = JsonlAppender.Open(Path.Combine(folder, MetricsFile));
        int[]? order = null;
        int orderEpoch = -1;
        try
        {
            foreach (var (_, p) in parameters) p.requires_grad_(true);
            if (Adapter is not null) Adapter.Training = true;
            for (int step = start; step < total; step++)
            {
                int epoch = step / perEpoch;
                if (epoch != orderEpoch) (order, orderEpoch) = (Order(objective, epoch), epoch);
                var passes = Enumerable.Range((step % perEpoch) * options.GradientAccumulation, options.GradientAccumulation)
                    .Where(b => b < batches)
                    .Select(b => order![(b * options.BatchSize)..Math.Min(objective.Count, (b + 1) * options.BatchSize)])
                    .ToArray();
                var row = TrainStep(objective, parameters, passes, step);
                double lr = schedule.At(step);
                if (!double.IsFinite(row.Loss) || !double.IsFinite(row.GradNorm))
                    throw new TrainingDivergedException($"step {step + 1}: {(double.IsFinite(row.Loss) ? "gradient norm" : "loss")} is not finite; "
                        + (LatestCheckpoint() is string last ? $"the last good checkpoint is {last}" : "no checkpoint was written yet") + "; lower the learning rate or check the data");
                optimizer.Step(lr);

                var line = new JsonObject { ["step"] = step + 1, ["epoch"] = Math.Round((step + 1.0) / perEpoch, 4), ["loss"] = row.Loss };
                foreach (var (k, v) in row.Metrics) line[k] = v;
                line["learning_rate"] = lr;
                line["grad_norm"] = row.GradNorm;
                line["tokens_per_second"] = Math.Round(row.TokensPerSecond, 1);
                metrics.Append(line);
                if ((step + 1) % options.CheckpointEvery == 0 || step + 1 == total) SaveCheckpoint(step + 1, parameters, optimizer);
                OnStep?.Invoke(new TrainProgress(step + 1, total, row.Loss, row.TokensPerSecond));
            }
        }
        finally
        {
            foreach (var (_, p) in parameters) p.requires_grad_(false);
            if (Adapter is not null) Adapter.Training = false;
        }
        return total - start;
    }

    sealed record StepRow(double Loss, IReadOnlyDictionary<string, double> Metrics, double GradNorm, double TokensPerSecond);

    StepRow TrainStep(ITrainingObjective objective, IReadOnlyList<(string Name, Tensor Tensor)> parameters, int[][] passes, int step)
    {
        var clock = Stopwatch.StartNew();
        Adapter?.SeedDropout(options.Seed * 0x9E3779B97F4A7C15UL + (ulong)step);
        foreach (var (_, p) in parameters)
        {
            using var g = p.grad;
            g?.zero_();
        }
        double[] weights = passes.Select(objective.Weight).ToArray();
        double stepWeight = weights.Sum(), loss = 0;
        long tokens = 0;
        var sums = new Dictionary<string, double>();
        for (int i = 0; i < passes.Length; i++)
        {
            using var scope = torch.NewDisposeScope();
            var result = objective.Compute(passes[i]);
            double share = weights[i] / stepWeight;
            using (var scale = share.ToScalar()) result.Loss.mul(scale).backward();
            loss += result.Loss.to(ScalarType.Float64).item<double>() * share;
            foreach (var (k, v) in result.Metrics) sums[k] = sums.GetValueOrDefault(k) + v * share;
            tokens += result.Tokens;
        }
        double norm = ClipGradients(parameters);
        return new StepRow(loss, sums, norm, tokens / clock.Elapsed.TotalSeconds);
    }

    /// <summary>The total gradient norm before clipping; gradients are scaled down to the limit as torch's clip_grad_norm_ does.</summary>
    double ClipGradients(IReadOnlyList<(string Name, Tensor Tensor)> parameters)
    {
        using var scope = torch.NewDisposeScope();
        var grads = parameters.Select(p => p.Tensor.grad).Where(g => g is not null).Select(g => g!).ToArray();
        double norm = torch.stack(grads.Select(g => g.norm()).ToArray()).norm().to(ScalarType.Float64).item<double>();
        if (options.MaxGradNorm > 0 && double.IsFinite(norm))
        {
            double coefficient = options.MaxGradNorm / (norm + 1e-6);
            using var scale = coefficient.ToScalar();
            if (coefficient < 1)
                foreach (var g in grads) g.mul_(scale);
        }
        return norm;
    }

    int[] Order(ITrainingObjective objective, int epoch)
    {
        var order = Enumerable.Range(0, objective.Count).ToArray();
        var random = new Random((int)((options.Seed * 0x9E3779B97F4A7C15UL + (ulong)epoch) >> 33));
        random.Shuffle(order);
        if (!options.GroupByLength) return order;
        var batches = order.Chunk(options.BatchSize * 50).SelectMany(mega => mega.OrderByDescending(objective.Length)).Chunk(options.BatchSize).ToArray();
        // Batches are shuffled again so long and short ones alternate; a short last batch stays last, where the loop expects it.
        int full = objective.Count / options.BatchSize;
        random.Shuffle(batches.AsSpan(0, full));
        return batches.SelectMany(b => b).ToArray();
    }

    List<(string Name, Tensor Tensor)> Trainables()
    {
        if (options.Lora is LoraConfig lora)
        {
            Adapter ??= LoraAdapter.Create(model.Config, lora, options.Seed, model.Device);
            model.Adapter = Adapter;
            return Adapter.Parameters().ToList();
        }
        if (model.DType != ScalarType.Float32)
            throw new ArgumentException("full fine-tuning updates the weights themselves, so load the model in float32 (or train a LoRA adapter)");
        return model.TrainableWeights().ToList();
    }

    string CheckpointPath(int step) => Path.Combine(folder, CheckpointsDir, $"step-{step:D6}");

    string? LatestCheckpoint() => Directory.Exists(Path.Combine(folder, CheckpointsDir))
        ? Directory.GetDirectories(Path.Combine(folder, CheckpointsDir), "step-*")
            .Where(d => !d.EndsWith(".tmp") && File.Exists(Path.Combine(d, "state.json"))).Order(StringComparer.Ordinal).LastOrDefault()
        : null;

    void SaveCheckpoint(int step, IReadOnlyList<(string Name, Tensor Tensor)> parameters, AdamW optimizer)
    {
        string final = CheckpointPath(step), temp = final + ".tmp";
        if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
        Directory.CreateDirectory(temp);
        using (var scope = torch.NewDisposeScope())
        {
            SafetensorsWriter.Write(Path.Combine(temp, "trainable.safetensors"), parameters.Select(p => KeyValuePair.Create(p.Name, p.Tensor.detach())));
            SafetensorsWriter.Write(Path.Combine(temp, "optimizer.safetensors"), optimizer.State().Select(p => KeyValuePair.Create(p.Name, p.Tensor)));
        }
        AtomicFile.WriteAllText(Path.Combine(temp, "state.json"), new JsonObject { ["step"] = step, ["optimizer_steps"] = optimizer.Steps }.ToJsonString() + "\n");
        if (Directory.Exists(final)) Directory.Delete(final, recursive: true);
        // The rename is the commit: a kill before it leaves only a .tmp folder, which resuming ignores.
        Directory.Move(temp, final);
        var all = Directory.GetDirectories(Path.GetDirectoryName(final)!, "step-*").Where(d => !d.EndsWith(".tmp")).Order(StringComparer.Ordinal).ToList();
        foreach (var old in all.Take(Math.Max(0, all.Count - options.KeepCheckpoints))) Directory.Delete(old, recursive: true);
    }

    int Resume(IReadOnlyList<(string Name, Tensor Tensor)> parameters, AdamW optimizer)
    {
        if (LatestCheckpoint() is not string dir) return 0;
        var state = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "state.json")))!;
        using var trainable = SafetensorsFile.Open(Path.Combine(dir, "trainable.safetensors"));
        using (torch.no_grad())
            foreach (var (name, p) in parameters)
            {
                if (!trainable.Tensors.ContainsKey(name))
                    throw new ResumeMismatchException($"{trainable.Path}: holds no '{name}'; the checkpoint was made with other training settings");
                using var saved = trainable.Read(name);
                p.copy_(saved);
            }
        using var moments = SafetensorsFile.Open(Path.Combine(dir, "optimizer.safetensors"));
        optimizer.Load(moments.Read, (long)state["optimizer_steps"]!);
        return (int)state["step"]!;
    }

    /// <summary>Drops metric rows past the resumed step, so a resumed run's file reads as one run's.</summary>
    void KeepMetricsUpTo(int step)
    {
        string path = Path.Combine(folder, MetricsFile);
        if (!File.Exists(path)) return;
        var keep = File.ReadLines(path).TakeWhile(line =>
        {
            try
            {
                return JsonNode.Parse(line)?["step"]?.GetValue<int>() <= step;
            }
            catch (JsonException)
            {
                return false;
            }
        }).ToList();
        AtomicFile.WriteAllText(path, string.Concat(keep.Select(l => l + "\n")));
    }
}
