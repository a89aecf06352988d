using System.Diagnostics;
using System.Text;
using System.Text.Json;
using SelfAlign.Text;

namespace SelfAlign.Bench;

/// <summary>Encode throughput of the shipped tokenizers on 1 MB of mixed text (English, code, numbers, CJK, Arabic, emoji).</summary>
internal static class TokenizerBench
{
    public static int Run()
    {
        string root = BenchModel.RepoRoot();
        var corpus = JsonSerializer.Deserialize<string[]>(File.ReadAllText(Path.Combine(root, "tests", "fixtures", "text", "corpus.json")))!;
        var sb = new StringBuilder();
        for (int i = 0; Encoding.UTF8.GetByteCount(sb.ToString()) < 1 << 20; i++)
        {
            for (int j = 0; j < 200; j++) sb.Append(corpus[(i * 200 + j) % corpus.Length]).Append(' ').Append(i * 200 + j).Append('\n');
        }
        string text = sb.ToString();
        double megabytes = Encoding.UTF8.GetByteCount(text) / 1e6;
        Console.WriteLine($"text: {megabytes:F2} MB, one thread");
        Console.WriteLine($"{"tokenizer",-14} {"load s",7} {"tokens",9} {"MB/s first",11} {"MB/s warm",10}");
        foreach (var (name, folder) in new[] { ("smollm2", "smollm2-135m"), ("qwen3", "qwen3-0.6b"), ("llama3", "llama-3.2-1b"), ("mistral", "mistral-7b-v0.1") })
        {
            var load = Stopwatch.StartNew();
            var tokenizer = Tokenizer.Load(Path.Combine(root, "configs", folder));
            double loadSeconds = load.Elapsed.TotalSeconds;
            var times = new List<double>();
            int count = 0;
            for (int r = 0; r < 3; r++)
            {
                var sw = Stopwatch.StartNew();
                count = tokenizer.Encode(text).Count;
                times.Add(sw.Elapsed.TotalSeconds);
            }
            Console.WriteLine($"{name,-14} {loadSeconds,7:F2} {count,9} {megabytes / times[0],11:F1} {megabytes / times.Skip(1).Min(),10:F1}");
        }
        return 0;
    }
}
