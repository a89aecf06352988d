using System.Text.Json.Nodes;

namespace SelfAlign.Pipeline;

/// <summary>One number an evaluation measured; a rate estimated on a sample carries its 95% interval.</summary>
/// <param name="Name">What was measured, as the report's row names it.</param>
/// <param name="Value">The value.</param>
/// <param name="Unit">Its unit: "%" for rates (given as fractions), or a unit word.</param>
/// <param name="Low">Lower end of the 95% interval, or null.</param>
/// <param name="High">Upper end of the 95% interval, or null.</param>
/// <param name="Samples">How many items the value was measured on.</param>
public sealed record EvalMetric(string Name, double Value, string Unit, double? Low = null, double? High = null, int? Samples = null)
{
    /// <summary>As a JSON object (the fields in snake_case).</summary>
    public JsonObject ToJson() => new()
    {
        ["name"] = Name, ["value"] = Value, ["unit"] = Unit, ["ci95_low"] = Low, ["ci95_high"] = High, ["samples"] = Samples,
    };

    /// <summary>Reads what <see cref="ToJson"/> wrote.</summary>
    public static EvalMetric FromJson(JsonObject o) => new((string)o["name"]!, (double)o["value"]!, (string)o["unit"]!,
        (double?)o["ci95_low"], (double?)o["ci95_high"], (int?)o["samples"]);
}

/// <summary>Measures each iteration's model for the loop's report.</summary>
public interface IIterationEvaluator
{
    /// <summary>Checks the evaluation's own inputs before the loop's first stage runs; throws naming what is wrong.</summary>
    void Check();

    /// <summary>Evaluates <paramref name="model"/>, writing its evidence into <paramref name="folder"/>.</summary>
    IReadOnlyList<EvalMetric> Evaluate(string model, string folder, IStageProgress progress);
}
