using SelfAlign.Modeling;
using SelfAlign.Modeling.Safetensors;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace SelfAlign.Tests.Modeling;

/// <summary>
/// Logits of small random-weight models against committed fixtures from an independent reference:
/// tests/fixtures/make_parity_fixtures.py, a float64 forward pass written in PyTorch (Debian's
/// python3-torch 1.13) from the Hugging Face model definitions, sharing no code with SelfAlign.
/// </summary>
public sealed class ParityTests(ITestOutputHelper output)
{
    public static TheoryData<string> Variants => new(Directory.GetDirectories(Path.Combine(TestModels.Fixtures, "parity")).Select(Path.GetFileName).Order()!);

    // float32 compute against a float64 reference: only float32 rounding separates them.
    const double Float32Tolerance = 1e-4;
    // bfloat16 compute rounds activations to 8 mantissa bits at every step; logits have std ~0.8.
    const double BFloat16Tolerance = 0.15;

    [Theory]
    [MemberData(nameof(Variants))]
    public void Float32LogitsMatchTheReference(string variant) => Check(variant, ScalarType.Float32, Float32Tolerance);

    [Theory]
    [MemberData(nameof(Variants))]
    public void BFloat16LogitsMatchTheReference(string variant) => Check(variant, ScalarType.BFloat16, BFloat16Tolerance);

    void Check(string variant, ScalarType dtype, double tolerance)
    {
        string folder = Path.Combine(TestModels.Fixtures, "parity", variant);
        using var expected = SafetensorsFile.Open(Path.Combine(folder, "expected.safetensors"));
        using var ids = expected.Read("input_ids");
        using var reference = expected.Read("logits");
        using var model = ModelFolder.Load(folder, new LoadOptions(dtype));
        using var logits = model.Forward(ids);
        double diff = TestModels.MaxAbsDiff(logits, reference);
        output.WriteLine($"{variant} {dtype}: max |logit - reference| = {diff:E2} (tolerance {tolerance:E0})");
        Assert.True(diff < tolerance, $"{variant} {dtype}: max abs diff {diff:E3} exceeds {tolerance:E0}");
        using var argmaxAgree = logits.argmax(-1).eq(reference.argmax(-1)).to(ScalarType.Float32).mean();
        Assert.True(argmaxAgree.item<float>() >= (dtype == ScalarType.Float32 ? 1f : 0.9f));
    }
}
