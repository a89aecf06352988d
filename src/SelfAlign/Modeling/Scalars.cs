using System.Collections.Concurrent;
using TorchSharp;

namespace SelfAlign.Modeling;

/// <summary>
/// The numbers the engine hands to libtorch, as native scalars that stay alive for the process.
/// TorchSharp turns a .NET number into a native <see cref="Scalar"/> implicitly (also inside
/// convenience overloads such as <c>add(Tensor)</c>, <c>square()</c> and two-bound <c>arange</c>)
/// and leaves it to the finalizer, which can free it while libtorch is still reading it: an
/// intermittent "Expected false to be true" from <c>c10::Scalar</c>. Every constant therefore goes
/// through <see cref="Of(double)"/>; a value that changes every step is made with
/// <c>ToScalar()</c> under <c>using</c>, so its lifetime is the call's.
/// </summary>
internal static class Scalars
{
    static readonly ConcurrentDictionary<double, Scalar> Floats = new();
    static readonly ConcurrentDictionary<long, Scalar> Integers = new();

    /// <summary>A floating-point scalar, interned (constants of a model or a loss: a handful per process).</summary>
    public static Scalar Of(double value) => Floats.GetOrAdd(value, v => v.ToScalar());

    /// <summary>An integer scalar, interned (integer results stay integer, as in libtorch's type promotion).</summary>
    public static Scalar Of(long value) => Integers.GetOrAdd(value, v => v.ToScalar());

    /// <summary>The integer 1: the <c>alpha</c> of a plain <c>add</c> and the step of <c>arange</c>.</summary>
    public static Scalar One { get; } = Of(1L);
}
