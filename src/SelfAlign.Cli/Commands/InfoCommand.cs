using System.CommandLine;
using SelfAlign.Modeling;
using SelfAlign.Modeling.Safetensors;
using Spectre.Console;

namespace SelfAlign.Cli.Commands;

/// <summary><c>selfalign info</c>: architecture, parameter count and dtypes of a model folder, from its headers.</summary>
internal static class InfoCommand
{
    public static Command Create()
    {
        var model = new Argument<DirectoryInfo>("model") { Description = "A Hugging Face model folder." };
        var command = new Command("info", "Describe a model folder (reads config.json and the safetensors headers; checks every tensor).") { model };
        command.SetAction(parse =>
        {
            CliOptions.Apply(parse);
            Run(parse.GetRequiredValue(model).FullName);
            return 0;
        });
        return command;
    }

    static void Run(string folder)
    {
        if (!Directory.Exists(folder)) throw new ModelFormatException(folder, "model folder not found");
        var c = ModelConfig.Load(Path.Combine(folder, ModelFolder.ConfigFile));
        using var checkpoint = Checkpoint.Open(folder);
        ModelFolder.Validate(c, checkpoint, folder);
        var entries = WeightNames.Expected(c).Select(e => checkpoint.Entry(e.Name)).ToList();
        long parameters = entries.Sum(e => e.Shape.Aggregate(1L, (a, d) => a * d));
        long bytes = entries.Sum(e => e.ByteLength);
        string dtypes = string.Join(", ", entries.GroupBy(e => SafetensorsDType.Name(e.DType)).Select(g => $"{g.Key} ({g.Count()} tensors)"));
        string windows = c.SlidingWindows.All(w => w is null) ? "none"
            : string.Join(", ", c.SlidingWindows.Select((w, i) => (w, i)).Where(x => x.w is not null).GroupBy(x => x.w).Select(g => $"{g.Key} on {g.Count()} layers"));

        var table = new Table().Border(TableBorder.Rounded).AddColumn("field").AddColumn("value");
        void Row(string k, string v) => table.AddRow(Markup.Escape(k), Markup.Escape(v));
        Row("folder", folder);
        Row("model_type", c.ModelType);
        Row("layers", c.NumLayers.ToString());
        Row("hidden size", c.HiddenSize.ToString());
        Row("heads (q / kv)", $"{c.NumHeads} / {c.NumKvHeads}");
        Row("head dim", c.HeadDim.ToString());
        Row("intermediate size", c.IntermediateSize.ToString());
        Row("vocab size", c.VocabSize.ToString());
        Row("rope", $"theta {c.RopeTheta:G}" + (c.RopeScaling is { } s ? $", {s.Type} x{s.Factor:G}" : "")
            + (c.RotaryDim < c.HeadDim ? $", first {c.RotaryDim} of {c.HeadDim} dims" : "")
            + (c.LocalRopeTheta is double local ? $"; sliding layers theta {local:G}, unscaled" : ""));
        Row("norm / mlp", $"{NormName(c.Norm)} / {(c.GatedMlp ? "gated" : "plain")} {ActivationName(c.Activation)}"
            + (c.SandwichNorms ? ", sandwich norms" : "") + (c.ScaleEmbeddings ? ", embeddings x sqrt(hidden)" : ""));
        if (c.AttentionSoftcap is not null || c.FinalLogitSoftcap is not null)
            Row("soft-cap attention / logits", $"{c.AttentionSoftcap?.ToString("G") ?? "-"} / {c.FinalLogitSoftcap?.ToString("G") ?? "-"}");
        if (Math.Abs(c.QueryScale * Math.Sqrt(c.HeadDim) - 1) > 1e-12)
            Row("query scale", $"{c.QueryScale:G6}");
        Row("max positions", c.MaxPositionEmbeddings.ToString());
        Row("tied embeddings", c.TieWordEmbeddings ? "yes" : "no");
        Row("qkv bias / o bias / mlp bias", $"{YesNo(c.AttentionBias)} / {YesNo(c.OutputBias)} / {YesNo(c.MlpBias)}");
        Row("q/k norm", YesNo(c.QkNorm));
        Row("sliding window", windows);
        Row("bos / eos / pad", $"{c.BosTokenId?.ToString() ?? "-"} / {(c.EosTokenIds.Count == 0 ? "-" : string.Join(",", c.EosTokenIds))} / {c.PadTokenId?.ToString() ?? "-"}");
        Row("parameters", $"{parameters:N0} ({parameters / 1e6:F1} M)");
        Row("stored dtype", dtypes);
        Row("weights size", $"{bytes / 1048576.0:F1} MiB in {entries.Select(e => e.Name).Count()} tensors");
        CliConsole.Out().Write(table);
    }

    static string YesNo(bool b) => b ? "yes" : "no";

    static string NormName(NormKind kind) => kind switch
    {
        NormKind.Rms => "rmsnorm",
        NormKind.RmsOffset => "rmsnorm (1 + w)",
        _ => "layernorm",
    };

    static string ActivationName(Activation activation) => activation switch
    {
        Activation.Silu => "silu",
        Activation.Gelu => "gelu",
        _ => "gelu (tanh)",
    };
}
