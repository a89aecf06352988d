using System.Numerics.Tensors;
using SelfAlign.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace SelfAlign.Bench;

/// <summary>
/// Next-token sampling from one row of SmolLM2-sized logits (49,152 entries), per setting, on
/// one thread: microseconds per draw next to the machine's floor for an exact full-vocabulary
/// draw (one vectorized exp over the row, measured in the same run) and next to the peer path
/// that Hugging Face's sampling takes (libtorch softmax + multinomial on the same row).
/// Two logit shapes: flat (a random-weight model) and peaked (a trained model's typical spread).
/// </summary>
internal static class SamplerBench
{
    const int Vocab = 49152, Draws = 3000;

    public static int Run()
    {
        var settings = new (string Name, SamplingOptions Options)[]
        {
            ("full vocabulary (top-k 0)", new SamplingOptions { Temperature = 0.7 }),
            ("top-k 40", new SamplingOptions { Temperature = 0.7, TopK = 40 }),
            ("top-p 0.9", new SamplingOptions { Temperature = 0.7, TopP = 0.9 }),
            ("min-p 0.05", new SamplingOptions { Temperature = 0.7, MinP = 0.05 }),
            ("greedy", new SamplingOptions { Temperature = 0 }),
        };
        Console.WriteLine($"sampling one row of {Vocab:N0} logits, {Draws} draws per setting, 1 thread, T=0.7");
        foreach (var (shape, scale) in new[] { ("flat", 1.0f), ("peaked", 6.0f) })
        {
            using var normal = torch.randn(Vocab, generator: new Generator(1));
            var logits = normal.data<float>().Select(x => scale * x).ToArray();
            var work = new float[Vocab];
            void ExpPass()
            {
                float max = TensorPrimitives.Max(logits);
                TensorPrimitives.Subtract(logits, max, work);
                TensorPrimitives.Exp(work, work);
            }
            // Warm-ups long enough for the JIT's optimized tier, before anything is timed.
            for (int i = 0; i < 2000; i++) ExpPass();
            double floor = Timing.Best(ExpPass, repeats: 500);
            double peer = PeerSeconds(logits);
            Console.WriteLine();
            Console.WriteLine($"{shape} logits (std {scale}): floor (one exp pass) {1e6 * floor:F1} us, peer (libtorch softmax + multinomial) {1e6 * peer:F1} us");
            Console.WriteLine($"{"setting",-28} {"us/draw",9} {"draws/s",9} {"x floor",8} {"vs peer",8}");
            foreach (var (name, options) in settings)
            {
                var stream = new RandomStream(7);
                for (int i = 0; i < 500; i++) Sampler.Sample(logits, Vocab, options, null, ref stream);
                double seconds = Timing.Best(() =>
                {
                    for (int i = 0; i < Draws; i++) Sampler.Sample(logits, Vocab, options, null, ref stream);
                }, repeats: 3) / Draws;
                Console.WriteLine($"{name,-28} {1e6 * seconds,9:F1} {1 / seconds,9:F0} {seconds / floor,8:F2} {peer / seconds,7:F2}x");
            }
        }
        return 0;
    }

    /// <summary>Seconds per draw of torch's softmax-then-multinomial on the same row.</summary>
    static double PeerSeconds(float[] logits)
    {
        using var noGrad = no_grad();
        using var row = tensor(logits);
        using var temperature = 0.7.ToScalar();
        var generator = new Generator(7);
        return Timing.Best(() =>
        {
            for (int i = 0; i < Draws; i++)
            {
                using var scope = NewDisposeScope();
                row.div(temperature).softmax(-1).multinomial(1, generator: generator).item<long>();
            }
        }, repeats: 3) / Draws;
    }
}
