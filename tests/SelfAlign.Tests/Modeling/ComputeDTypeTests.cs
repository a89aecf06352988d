using System.Diagnostics;
using SelfAlign.Modeling;
using Xunit;
using static TorchSharp.torch;

namespace SelfAlign.Tests.Modeling;

/// <summary>The compute dtype names, and the choice <c>auto</c> makes on this machine.</summary>
public sealed class ComputeDTypeTests
{
    [Theory]
    [InlineData("bf16", ScalarType.BFloat16)]
    [InlineData("BFloat16", ScalarType.BFloat16)]
    [InlineData("f32", ScalarType.Float32)]
    [InlineData("float32", ScalarType.Float32)]
    [InlineData("fp16", ScalarType.Float16)]
    public void NamesResolve(string name, ScalarType expected) => Assert.Equal(expected, ComputeDType.Parse(name));

    [Fact]
    public void UnknownNamesAreNull() => Assert.Null(ComputeDType.Parse("int8"));

    [Fact]
    public void AutoIsTheDefaultOfLoading()
    {
        Assert.Equal(ComputeDType.Fastest, ComputeDType.Parse("auto"));
        Assert.Equal(ComputeDType.Fastest, new LoadOptions().ComputeType);
        Assert.Contains(ComputeDType.Fastest, new[] { ScalarType.BFloat16, ScalarType.Float32 });
    }

    /// <summary>
    /// Timed independently of the probe, on a larger product: the dtype auto picks multiplies at
    /// least a third as fast as the faster of bf16 and f32 (where bf16 is emulated it is tens of
    /// times slower, so a wrong pick fails by a wide margin).
    /// </summary>
    [Fact]
    public void AutoPicksADTypeThatIsNotSlow()
    {
        double Seconds(ScalarType dtype)
        {
            using var a = ones(256, 768, dtype);
            using var b = ones(768, 768, dtype);
            a.matmul(b).Dispose();
            var clock = Stopwatch.StartNew();
            for (int i = 0; i < 3; i++) a.matmul(b).Dispose();
            return clock.Elapsed.TotalSeconds;
        }
        double bf16 = Seconds(ScalarType.BFloat16), f32 = Seconds(ScalarType.Float32);
        double picked = ComputeDType.Fastest == ScalarType.BFloat16 ? bf16 : f32;
        Assert.True(picked <= 3 * Math.Min(bf16, f32), $"auto picked {ComputeDType.Fastest}: {picked * 1e3:F1} ms against bf16 {bf16 * 1e3:F1} ms, f32 {f32 * 1e3:F1} ms");
    }
}
