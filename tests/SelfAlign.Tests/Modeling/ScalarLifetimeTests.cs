using System.Runtime.InteropServices;
using SelfAlign.Inference;
using SelfAlign.Modeling;
using SelfAlign.Modeling.Lora;
using SelfAlign.Text;
using SelfAlign.Training;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace SelfAlign.Tests.Modeling;

/// <summary>
/// Native scalars outlive the calls that read them. TorchSharp leaves the scalars it makes from
/// .NET numbers to the finalizer, which can free one while libtorch reads it; before the engine
/// held its scalars explicitly (<see cref="Scalars"/>), training under GC pressure failed here with
/// c10's "Expected false to be true" within seconds (gen-0 collections in a loop). Forced collections stall every
/// thread of the process, so these tests run alone.
/// </summary>
[Collection(GcPressureCollection.Name)]
public sealed class ScalarLifetimeTests(ITestOutputHelper output) : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("selfalign-scalars-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void TrainingAndDecodingSurviveConstantGarbageCollection()
    {
        using var model = TestModels.Random(TestModels.Tiny("llama"), ScalarType.BFloat16);
        var random = new Random(11);
        int[] Ids(int n) => Enumerable.Range(0, n).Select(_ => random.Next(model.Config.VocabSize)).ToArray();
        var pairs = Enumerable.Range(0, 4).Select(i =>
        {
            var prompt = Ids(6);
            return new TokenizedPair($"p{i}", new TokenizedCompletion(prompt, Ids(4)), new TokenizedCompletion(prompt, Ids(5)), null);
        }).ToList();
        var reference = ReferenceLogProbs.Load(model, pairs, Path.Combine(_dir, "reference.jsonl"), padId: 0);
        var objective = new PreferenceObjective(model, pairs, reference, new PreferenceLossOptions(PreferenceLossKind.Dpo, NllWeight: 0.5), padId: 0);
        var options = new TrainOptions
        {
            LearningRate = 1e-3, BatchSize = 2, MaxSteps = 100, CheckpointEvery = 1000,
            Optimizer = new AdamWOptions(WeightDecay: 0.01), Lora = new LoraConfig(4, 8, 0.1),
        };
        var errors = new List<string>();
        bool stop = false;
        // Finalizers run on their own thread the whole time, as they may in any long run. Young-generation
        // collections are enough (the scalars die young) and stay cheap however large the test process's heap is.
        var collector = new Thread(() =>
        {
            while (!Volatile.Read(ref stop))
            {
                GC.Collect(0);
                GC.WaitForPendingFinalizers();
            }
        });
        collector.Start();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            Capture(errors, () => new Trainer(model, options, Path.Combine(_dir, "train")).Run(objective));
            model.Adapter = null;
            using var cache = model.CreateCache(4, 200);
            using var prompt = tensor(Ids(24).Select(i => (long)i).ToArray(), [4, 6]);
            Capture(errors, () =>
            {
                using var first = model.Forward(prompt, null, cache, LogitPositions.Last);
                for (int step = 0; step < 60; step++)
                {
                    using var scope = NewDisposeScope();
                    model.Forward(tensor(Ids(4).Select(i => (long)i).ToArray(), [4, 1]), null, cache, LogitPositions.Last);
                }
            });
        }
        finally
        {
            Volatile.Write(ref stop, true);
            collector.Join();
        }
        output.WriteLine($"{errors.Count} native errors in {clock.Elapsed.TotalSeconds:F1} s");
        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }

    static void Capture(List<string> errors, Action work)
    {
        try
        {
            work();
        }
        catch (ExternalException e)
        {
            errors.Add(e.Message.Split('\n')[0]);
        }
    }

    /// <summary>
    /// No engine code hands libtorch a scalar the finalizer may take: no implicit number-to-Scalar
    /// conversion, no TorchSharp overload that makes one internally (add(Tensor), square(),
    /// operators on numbers, ...), and every ToScalar() in a method that also disposes a Scalar.
    /// </summary>
    [Fact]
    public void EngineCodeMakesNoScalarLeftToTheFinalizer()
    {
        using var engine = new IlCalls(typeof(CausalLm).Assembly.Location);
        using var torchSharp = new IlCalls(typeof(TorchSharp.Scalar).Assembly.Location);
        var unsafeMethods = new Dictionary<string, bool>();
        // A TorchSharp method is unsafe when it, or a TorchSharp method it calls, makes a Scalar without disposing one.
        bool Unsafe(string method)
        {
            if (unsafeMethods.TryGetValue(method, out bool known)) return known;
            unsafeMethods[method] = false;   // cycles end here
            if (!torchSharp.Defines(method)) return false;
            var calls = torchSharp.CallsOf(method).ToList();
            bool result = (calls.Any(c => MakesScalar(c.Callee)) && !calls.Any(c => DisposesScalar(c.Callee)))
                || calls.Any(c => c.Assembly == "TorchSharp" && Unsafe(c.Callee));
            return unsafeMethods[method] = result;
        }

        var findings = new List<string>();
        // Scalars itself holds what it makes for the life of the process.
        foreach (string method in engine.Methods.Where(m => !m.StartsWith("SelfAlign.Modeling.Scalars", StringComparison.Ordinal)))
        {
            var calls = engine.CallsOf(method).ToList();
            foreach (var (callee, assembly) in calls.Where(c => c.Assembly == "TorchSharp").Distinct())
            {
                if (callee.StartsWith("TorchSharp.Scalar::op_Implicit", StringComparison.Ordinal) || Unsafe(callee))
                    findings.Add($"{method} calls {callee}");
            }
            if (calls.Any(c => c.Callee.StartsWith("TorchSharp.ScalarExtensionMethods::To", StringComparison.Ordinal)) && !calls.Any(c => DisposesScalar(c.Callee)))
                findings.Add($"{method} makes a Scalar with ToScalar() and never disposes one");
        }
        Assert.True(findings.Count > 0 || unsafeMethods.Count > 0, "the scan found no TorchSharp calls at all");
        Assert.True(findings.Count == 0, string.Join("\n", findings));
    }

    static bool MakesScalar(string callee) =>
        callee.StartsWith("TorchSharp.Scalar::op_Implicit", StringComparison.Ordinal) || callee.StartsWith("TorchSharp.ScalarExtensionMethods::To", StringComparison.Ordinal)
            && callee.Contains("Scalar(", StringComparison.Ordinal);

    static bool DisposesScalar(string callee) => callee.StartsWith("TorchSharp.Scalar::Dispose", StringComparison.Ordinal)
        || callee == "System.IDisposable::Dispose()";
}

/// <summary>Tests that force garbage collections in a loop must not share the process with other tests.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class GcPressureCollection
{
    public const string Name = "gc-pressure";
}
