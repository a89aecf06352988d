using static TorchSharp.torch;

namespace SelfAlign.Modeling.Safetensors;

/// <summary>The dtype names of the safetensors header and their torch scalar types.</summary>
public static class SafetensorsDType
{
    static readonly (string Name, ScalarType Type)[] Table =
    [
        ("BF16", ScalarType.BFloat16),
        ("F16", ScalarType.Float16),
        ("F32", ScalarType.Float32),
        ("F64", ScalarType.Float64),
        ("I64", ScalarType.Int64),
        ("I32", ScalarType.Int32),
        ("I16", ScalarType.Int16),
        ("I8", ScalarType.Int8),
        ("U8", ScalarType.Byte),
        ("BOOL", ScalarType.Bool),
    ];

    /// <summary>The torch type of a header dtype name, or null when unsupported.</summary>
    public static ScalarType? Parse(string name) =>
        Array.Find(Table, e => e.Name == name) is var (n, t) && n is not null ? t : null;

    /// <summary>The header name of a torch type.</summary>
    public static string Name(ScalarType type) =>
        Array.Find(Table, e => e.Type == type).Name ?? throw new NotSupportedException($"safetensors has no dtype for {type}");

    /// <summary>Bytes per element.</summary>
    public static int Size(ScalarType type) => type switch
    {
        ScalarType.Float64 or ScalarType.Int64 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.BFloat16 or ScalarType.Float16 or ScalarType.Int16 => 2,
        _ => 1,
    };
}
