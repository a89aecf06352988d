using SelfAlign.Modeling.Lora;

namespace SelfAlign.Training;

/// <summary>Optimization settings shared by SFT and preference training.</summary>
public sealed record TrainOptions
{
    /// <summary>Peak learning rate.</summary>
    public double LearningRate { get; init; } = 5e-5;
    /// <summary>Passes over the data.</summary>
    public int Epochs { get; init; } = 1;
    /// <summary>Examples (pairs, for preference training) per forward pass.</summary>
    public int BatchSize { get; init; } = 4;
    /// <summary>Forward passes per optimizer step.</summary>
    public int GradientAccumulation { get; init; } = 1;
    /// <summary>Gradient norm clip (0: none).</summary>
    public double MaxGradNorm { get; init; } = 1.0;
    /// <summary>Fraction of the steps spent warming up.</summary>
    public double WarmupRatio { get; init; } = 0.1;
    /// <summary>Decay after warm-up.</summary>
    public ScheduleKind Schedule { get; init; } = ScheduleKind.Cosine;
    /// <summary>Where the decay ends (0: at zero). Left out of manifests when 0, so those of earlier runs still match.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingDefault)]
    public double MinLearningRate { get; init; }
    /// <summary>AdamW settings.</summary>
    public AdamWOptions Optimizer { get; init; } = new();
    /// <summary>Seed of the adapter's initialization, the data order and dropout.</summary>
    public ulong Seed { get; init; }
    /// <summary>Optimizer steps between checkpoints (there is always one at the end).</summary>
    public int CheckpointEvery { get; init; } = 50;
    /// <summary>Checkpoints kept on disk (the newest).</summary>
    public int KeepCheckpoints { get; init; } = 2;
    /// <summary>Stop after this many optimizer steps instead of at the end of the epochs.</summary>
    public int? MaxSteps { get; init; }
    /// <summary>Most prompt + completion tokens per sequence.</summary>
    public int MaxLength { get; init; } = 1024;
    /// <summary>Most prompt tokens (longer prompts keep their end).</summary>
    public int MaxPromptLength { get; init; } = 512;
    /// <summary>
    /// Batch examples of similar length (Hugging Face's <c>group_by_length</c>): each epoch's shuffled
    /// order is cut into mega-batches of 50 batches, each sorted by length, longest first, so
    /// little compute goes to padding.
    /// </summary>
    public bool GroupByLength { get; init; }
    /// <summary>The adapter to train; null trains every weight (full fine-tuning, float32 models only).</summary>
    public LoraConfig? Lora { get; init; } = new();

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        if (!(LearningRate > 0) || double.IsInfinity(LearningRate)) throw new InvalidSettingException("learning_rate", $"must be positive, got {LearningRate}");
        if (Epochs < 1) throw new InvalidSettingException("epochs", $"must be at least 1, got {Epochs}");
        if (BatchSize < 1) throw new InvalidSettingException("batch_size", $"must be at least 1, got {BatchSize}");
        if (GradientAccumulation < 1) throw new InvalidSettingException("gradient_accumulation", $"must be at least 1, got {GradientAccumulation}");
        if (!(MaxGradNorm >= 0) || double.IsInfinity(MaxGradNorm)) throw new InvalidSettingException("max_grad_norm", $"must be 0 (off) or positive, got {MaxGradNorm}");
        if (!(WarmupRatio is >= 0 and < 1)) throw new InvalidSettingException("warmup_ratio", $"must be in [0, 1), got {WarmupRatio}");
        if (!(MinLearningRate >= 0 && MinLearningRate < LearningRate))
            throw new InvalidSettingException("min_learning_rate", $"must be in [0, learning_rate {LearningRate:G}), got {MinLearningRate:G}");
        if (!(Optimizer.WeightDecay >= 0) || double.IsInfinity(Optimizer.WeightDecay)) throw new InvalidSettingException("weight_decay", $"must be >= 0, got {Optimizer.WeightDecay}");
        if (CheckpointEvery < 1) throw new InvalidSettingException("checkpoint_every", $"must be at least 1 step, got {CheckpointEvery}");
        if (KeepCheckpoints < 1) throw new InvalidSettingException("keep_checkpoints", $"must be at least 1, got {KeepCheckpoints}");
        if (MaxSteps is < 1) throw new InvalidSettingException("max_steps", $"must be at least 1, got {MaxSteps}");
        if (MaxPromptLength < 1) throw new InvalidSettingException("max_prompt_length", $"must be at least 1, got {MaxPromptLength}");
        if (MaxLength <= MaxPromptLength)
            throw new InvalidSettingException("max_length", $"must be more than max_prompt_length ({MaxPromptLength}) to leave room for the completion, got {MaxLength}");
        Lora?.Validate();
    }
}
