using System.Diagnostics;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using System.Text.Json.Nodes;
using SelfAlign.Judging;
using SelfAlign.Inference;
using SelfAlign.Modeling;
using SelfAlign.Modeling.Gguf;
using SelfAlign.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace SelfAlign.Bench;

/// <summary>
/// SelfAlign side by side with its peers on the same random weights (SmolLM2-135M shape), all
/// measured in this run: llama.cpp in bf16 and q8_0 (GGUF written by SelfAlign) and eager PyTorch
/// (Hugging Face's Llama computation, run by bench/peers/eager_llama.py), next to the machine's
/// matmul rate and memory bandwidth.
/// </summary>
internal static class PeersBench
{
    const int DecodePrompt = 128, DecodeSteps = 64;

    public static int Run(int threads, string[] args)
    {
        string folder = BenchModel.SmolLm2Folder;
        var config = ModelConfig.Load(Path.Combine(folder, "config.json"));
        double matmul = MachineLimits.MatmulFlops();
        double bandwidth = MachineLimits.CopyBandwidth();
        Console.WriteLine($"model: SmolLM2-135M shape, random {BenchModel.DTypeName} weights (seed 0); {threads} threads");
        Console.WriteLine($"machine: {BenchModel.DTypeName} matmul {matmul / 1e9:F0} GFLOP/s, memory copy {bandwidth / 1e9:F1} GB/s; peer: {LlamaCppPeer.Describe}");
        string work = Directory.CreateTempSubdirectory("selfalign-peers-").FullName;
        try
        {
            using var model = BenchModel.Random(config);
            using var noGrad = no_grad();
            var table = new PeerTable();
            var rng = new Random(0);
            int[] Ids(int n) => Enumerable.Range(0, n).Select(_ => rng.Next(config.VocabSize)).ToArray();
            var prefill128 = Ids(128);
            var prefill512 = Ids(512);
            var decode1 = new[] { Ids(DecodePrompt) };
            var decode8 = Enumerable.Range(0, 8).Select(_ => Ids(DecodePrompt)).ToArray();

            table.Add("prefill 128 tokens, batch 1 (tok/s)", "SelfAlign", 128 / Timing.Best(() => Prefill(model, prefill128), 4));
            table.Add("prefill 512 tokens, batch 1 (tok/s)", "SelfAlign", 512 / Timing.Best(() => Prefill(model, prefill512), 4));
            table.Add("decode batch 1 (tok/s)", "SelfAlign", 1 / Median(() => DecodeSeconds(model, decode1)));
            table.Add("decode batch 8 (total tok/s)", "SelfAlign", 8 / Median(() => DecodeSeconds(model, decode8)));
            model.FastDecode = false;
            Console.WriteLine($"  (decode batch 1 through libtorch instead of the decode kernel: {1 / Median(() => DecodeSeconds(model, decode1)):F1} tok/s)");
            model.FastDecode = true;

            foreach (var type in new[] { GgmlType.BF16, GgmlType.Q8_0 })
            {
                string peer = $"llama.cpp {type.ToString().ToLowerInvariant()}";
                using var llama = LlamaCppPeer.Open(model, work, type, threads);
                table.Add("prefill 128 tokens, batch 1 (tok/s)", peer, 128 / Timing.Best(() => llama.Prefill([prefill128]), 4));
                table.Add("prefill 512 tokens, batch 1 (tok/s)", peer, 512 / Timing.Best(() => llama.Prefill([prefill512]), 4));
                table.Add("decode batch 1 (tok/s)", peer, 1 / Median(() => llama.DecodeSeconds(decode1, DecodeSteps)));
                table.Add("decode batch 8 (total tok/s)", peer, 8 / Median(() => llama.DecodeSeconds(decode8, DecodeSteps)));
            }
            Sampling(model, work, threads, table);
            CheckLogits(model, work, prefill128, threads);
            int pairs = args.Length > 0 ? int.Parse(args[0]) : 200;
            Eager(model, work, threads, table, prefill128, prefill512, decode1, decode8, pairs, matmul);
            table.Print();
            Goals(table, pairs);
            // The ceilings of this run: every FLOP at the matmul rate, every weight read once per step at the copy bandwidth.
            var flops = BenchModel.Flops(model);
            double Bound(int n) => n * matmul / (flops.Tokens(0, n) + flops.HeadPerRow);
            Console.WriteLine($"ceilings: prefill 128 {Bound(128):N0} tok/s, prefill 512 {Bound(512):N0} tok/s at the matmul rate; " +
                $"decode batch 1 {bandwidth / (model.ParameterCount * BenchModel.BytesPerWeight):N0} tok/s at the copy bandwidth");
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
        return 0;
    }

    /// <summary>The generate benchmark's work: 8 judge-style prompts x 4 samples x 128 tokens, T = 0.7, top-k 40, all in one batch.</summary>
    static void Sampling(CausalLm model, string work, int threads, PeerTable table)
    {
        const string row = "sampling 32 sequences x 128 tokens (total tok/s)";
        var tokenizer = Tokenizer.Load(BenchModel.SmolLm2Folder);
        var requests = GenerationBench.Requests(tokenizer);
        var sampling = GenerationBench.Sampling;
        var generator = new SelfAlign.Inference.Generator(model, tokenizer);
        double seconds = Enumerable.Range(0, 2).Min(run =>
        {
            var sw = Stopwatch.StartNew();
            foreach (var _ in generator.Generate(requests, sampling, new GeneratorOptions(MaxBatchRows: 32, SharePrefill: true))) { }
            return sw.Elapsed.TotalSeconds;
        });
        int tokens = requests.Sum(r => r.Samples) * sampling.MaxNewTokens;
        table.Add(row, "SelfAlign", tokens / seconds);
        var prompts = requests.Select(r => r.PromptIds.ToArray()).ToArray();
        foreach (var type in new[] { GgmlType.BF16, GgmlType.Q8_0 })
        {
            using var llama = LlamaCppPeer.Open(model, work, type, threads);
            double peer = Enumerable.Range(0, 2).Min(_ => llama.Sample(prompts, requests[0].Samples, sampling.MaxNewTokens, (float)sampling.Temperature, sampling.TopK));
            table.Add(row, $"llama.cpp {type.ToString().ToLowerInvariant()}", tokens / peer);
        }
    }

    /// <summary>
    /// The same weights in float32 through SelfAlign and through llama.cpp (an f32 GGUF): the last
    /// position's logits of a 128-token prompt must agree, or the peer is not running the same model.
    /// </summary>
    static void CheckLogits(CausalLm model, string work, int[] prompt, int threads)
    {
        var weights = model.Parameters().ToDictionary(p => p.Name, p => p.Tensor.to(ScalarType.Float32));
        using var f32 = CausalLm.FromWeights(model.Config, weights, new LoadOptions(ScalarType.Float32));
        foreach (var w in weights.Values) w.Dispose();
        using var ids = torch.tensor(prompt.Select(i => (long)i).ToArray()).unsqueeze(0);
        using var ours = f32.Forward(ids, positions: LogitPositions.Last);
        var mine = ours.data<float>().ToArray();
        using var llama = LlamaCppPeer.Open(f32, work, GgmlType.F32, threads);
        llama.Prefill([prompt]);
        var theirs = llama.LastLogits();
        double diff = mine.Zip(theirs).Max(p => Math.Abs(p.First - p.Second));
        Console.WriteLine($"f32 logits, SelfAlign vs llama.cpp on the same weights: largest difference {diff:E2} (logits span {mine.Min():F2} .. {mine.Max():F2})");
        if (diff > 1e-3) throw new InvalidOperationException("llama.cpp's logits differ from SelfAlign's: the GGUF does not hold the same model");
    }

    /// <summary>
    /// SelfAlign's judge and DPO rows, then eager PyTorch (bench/peers/eager_llama.py with Debian's
    /// python3 and torch) on the same weights, ids, judge inputs and training pairs.
    /// </summary>
    static void Eager(CausalLm model, string work, int threads, PeerTable table, int[] prefill128, int[] prefill512,
        int[][] decode1, int[][] decode8, int pairs, double matmul)
    {
        const string column = "eager PyTorch bf16";
        string modelFolder = Path.Combine(work, "hf");
        ModelFolder.SaveWeights(model, modelFolder);
        File.Copy(Path.Combine(BenchModel.SmolLm2Folder, "config.json"), Path.Combine(modelFolder, "config.json"));

        // SelfAlign's judge and DPO step, then the same work for the peer.
        var tokenizer = Tokenizer.Load(BenchModel.SmolLm2Folder);
        var (sample, items) = JudgeBench.Work(pairs);
        var judge = new YesNoJudge(new LocalLanguageModel(model, tokenizer), new YesNoOptions(JudgePromptSet.IpoEvaluation));
        double judgeSeconds = JudgeBench.Time(judge, items, out var scores);
        string judgeRow = $"yes/no judge, {sample.Length} pairs (pairs/s; share of matmul rate)";
        double judgeShare = JudgeBench.FastFlops(model, judge, items) / judgeSeconds / matmul;
        table.AddText(judgeRow, "SelfAlign", $"{sample.Length / judgeSeconds:F2} ({100 * judgeShare:F0}%)", judgeShare);
        var dpoPairs = DpoBench.Pairs(model.Config);
        var reference = dpoPairs.ToDictionary(p => p.Id, _ => (0f, 0f));
        double dpoSeconds;
        string dpoFolder = Path.Combine(work, "dpo");
        using (torch.enable_grad()) dpoSeconds = DpoBench.StepSeconds(model, dpoPairs, reference, dpoFolder);
        model.Adapter = null;
        const string dpoRow = "DPO step, LoRA r=16, 2 x 512 tokens (s; share of matmul rate)";
        double dpoShare = DpoBench.Flops(model) / dpoSeconds / matmul;
        table.AddText(dpoRow, "SelfAlign", $"{dpoSeconds:F2} ({100 * dpoShare:F0}%)", dpoShare);

        var labels = judge.Yes.Ids.Concat(judge.No.Ids).ToArray();
        var request = new JsonObject
        {
            ["prefill128"] = Ids(prefill128), ["prefill512"] = Ids(prefill512),
            ["decode1"] = new JsonArray(decode1.Select(p => (JsonNode)Ids(p)).ToArray()),
            ["decode8"] = new JsonArray(decode8.Select(p => (JsonNode)Ids(p)).ToArray()),
            ["steps"] = DecodeSteps,
            ["judge"] = new JsonArray(items.Select(i => (JsonNode)Ids(judge.Input(i))).ToArray()),
            ["labels"] = Ids(labels),
            ["dpo"] = new JsonArray(dpoPairs.Take(3).Select(p => (JsonNode)new JsonObject
            {
                ["prompt"] = Ids(p.Chosen.Prompt), ["chosen"] = Ids(p.Chosen.Completion), ["rejected"] = Ids(p.Rejected.Completion),
                ["ref_chosen"] = 0, ["ref_rejected"] = 0,
            }).ToArray()),
        };
        string requestPath = Path.Combine(work, "eager-work.json");
        File.WriteAllText(requestPath, request.ToJsonString());
        string script = Path.Combine(BenchModel.RepoRoot(), "bench", "peers", "eager_llama.py");
        var result = RunPython(script, modelFolder, requestPath, threads);
        if (result is null) return;
        Console.WriteLine($"eager PyTorch: torch {result["torch"]}");
        table.Add("prefill 128 tokens, batch 1 (tok/s)", column, 128 / (double)result["prefill128"]!);
        table.Add("prefill 512 tokens, batch 1 (tok/s)", column, 512 / (double)result["prefill512"]!);
        table.Add("decode batch 1 (tok/s)", column, 1 / (double)result["decode1"]!);
        table.Add("decode batch 8 (total tok/s)", column, 8 / (double)result["decode8"]!);
        double eagerJudge = (double)result["judge"]!;
        double eagerJudgeShare = JudgeBench.PlainFlops(model, judge, items) / eagerJudge / matmul;
        table.AddText(judgeRow, column, $"{sample.Length / eagerJudge:F2} ({100 * eagerJudgeShare:F0}%, one request at a time)", eagerJudgeShare);
        double eagerDpo = (double)result["dpo"]!;
        double eagerDpoShare = DpoBench.Flops(model) / eagerDpo / matmul;
        table.AddText(dpoRow, column, $"{eagerDpo:F2} ({100 * eagerDpoShare:F0}%)", eagerDpoShare);

        // The judge's scores from the peer's label log-probabilities: an independent check of SelfAlign's.
        int yes = judge.Yes.Ids.Count;
        var peerScores = result["judge_logprobs"]!.AsArray().Select(row =>
        {
            var lp = row!.AsArray().Select(v => (double)v!).ToArray();
            return Share(LogSum(lp[..yes]), LogSum(lp[yes..]));
        }).ToArray();
        Console.WriteLine($"yes/no scores, SelfAlign's fast path vs eager PyTorch one at a time (bf16): largest difference {scores.Zip(peerScores).Max(p => Math.Abs(p.First.Score - p.Second)):E2}");
    }

    /// <summary>Each goal against the peer measured in this run: the ratio, and whether it holds.</summary>
    static void Goals(PeerTable table, int pairs)
    {
        const string us = "SelfAlign", bf16 = "llama.cpp bf16", q8 = "llama.cpp q8_0", eager = "eager PyTorch bf16";
        Console.WriteLine();
        Goal("decode batch 1 at least llama.cpp bf16", table.Value("decode batch 1 (tok/s)", us), table.Value("decode batch 1 (tok/s)", bf16));
        Goal("decode batch 8 at least llama.cpp q8_0", table.Value("decode batch 8 (total tok/s)", us), table.Value("decode batch 8 (total tok/s)", q8));
        const string sampling = "sampling 32 sequences x 128 tokens (total tok/s)";
        Goal("sampling 32 sequences at least 2x llama.cpp q8_0", table.Value(sampling, us), 2 * table.Value(sampling, q8));
        Goal("prefill 128 tokens at least 2x eager PyTorch", table.Value("prefill 128 tokens, batch 1 (tok/s)", us), 2 * table.Value("prefill 128 tokens, batch 1 (tok/s)", eager));
        Goal("judge at least 40% of the matmul rate", table.Value($"yes/no judge, {pairs} pairs (pairs/s; share of matmul rate)", us), 0.40);
        Goal("DPO step at least 25% of the matmul rate", table.Value("DPO step, LoRA r=16, 2 x 512 tokens (s; share of matmul rate)", us), 0.25);

        static void Goal(string what, double ours, double target) => Console.WriteLine(double.IsNaN(target)
            ? $"goal: {what}: the peer did not run"
            : $"goal: {what}: {ours:G4} against {target:G4} ({ours / target:F2}x) {(ours >= target ? "met" : "NOT met")}");
    }

    static double LogSum(double[] values)
    {
        double max = values.Max();
        return max + Math.Log(values.Sum(v => Math.Exp(v - max)));
    }

    static double Share(double logFirst, double logSecond) => 1 / (1 + Math.Exp(logSecond - logFirst));

    static JsonArray Ids(IEnumerable<int> ids) => new(ids.Select(i => (JsonNode)i).ToArray());

    /// <summary>Runs the peer script with Debian's python3; null (and a line saying why) where it cannot run here.</summary>
    static JsonObject? RunPython(string script, string model, string work, int threads)
    {
        string python = File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
        var start = new ProcessStartInfo(python, [script, model, work, threads.ToString()]) { RedirectStandardOutput = true };
        try
        {
            using var process = Process.Start(start)!;
            string output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode == 0) return JsonNode.Parse(output)!.AsObject();
            Console.WriteLine($"eager PyTorch peer failed (exit {process.ExitCode}); its column is left empty");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            Console.WriteLine($"eager PyTorch peer not run: {e.Message}");
        }
        return null;
    }

    /// <summary>The median of three timed runs after a warm-up run (engines that compile code at run time warm up too).</summary>
    static double Median(Func<double> seconds)
    {
        seconds();
        var runs = new[] { seconds(), seconds(), seconds() };
        Array.Sort(runs);
        return runs[1];
    }

    static void Prefill(CausalLm model, int[] ids)
    {
        using var input = torch.tensor(ids.Select(i => (long)i).ToArray()).unsqueeze(0);
        using var logits = model.Forward(input, positions: LogitPositions.Last);
    }

    /// <summary>
    /// Prefills the prompts, then times greedy decoding: seconds per step. Each step's logits come
    /// to the host and the greedy pick is made there, as the generator picks (and as llama.cpp's
    /// sampler picks from its logits).
    /// </summary>
    static double DecodeSeconds(CausalLm model, int[][] prompts)
    {
        int batch = prompts.Length;
        using var ids = torch.tensor(prompts.SelectMany(p => p.Select(i => (long)i)).ToArray()).view(batch, -1);
        using var cache = model.CreateCache(batch, DecodePrompt + DecodeSteps + 1);
        long[] next;
        using (var first = model.Forward(ids, cache: cache, positions: LogitPositions.Last)) next = Greedy(first, batch);
        var sw = Stopwatch.StartNew();
        for (int s = 0; s < DecodeSteps; s++)
        {
            using var token = torch.tensor(next, [batch, 1]);
            using var logits = model.Forward(token, cache: cache);
            next = Greedy(logits, batch);
        }
        return sw.Elapsed.TotalSeconds / DecodeSteps;
    }

    static long[] Greedy(Tensor logits, int batch)
    {
        var values = NativeTensor.ToArray<float>(logits);
        int vocab = values.Length / batch;
        return Enumerable.Range(0, batch).Select(r => (long)TensorPrimitives.IndexOfMax(values.AsSpan(r * vocab, vocab))).ToArray();
    }
}

/// <summary>Rows of work by columns of engines, printed as one table.</summary>
internal sealed class PeerTable
{
    readonly List<string> _rows = [], _columns = [];
    readonly Dictionary<(string, string), string> _cells = [];
    readonly Dictionary<(string, string), double> _values = [];

    /// <summary>The number measured for a cell, or NaN where nothing was measured.</summary>
    public double Value(string row, string column) => _values.GetValueOrDefault((row, column), double.NaN);

    public void Add(string row, string column, double value, string format = "N0")
    {
        _values[(row, column)] = value;
        if (!_rows.Contains(row)) _rows.Add(row);
        if (!_columns.Contains(column)) _columns.Add(column);
        _cells[(row, column)] = value.ToString(value < 100 && format == "N0" ? "N1" : format);
        Console.WriteLine($"  {row} · {column}: {_cells[(row, column)]}");
    }

    public void AddText(string row, string column, string text, double value)
    {
        _values[(row, column)] = value;
        if (!_rows.Contains(row)) _rows.Add(row);
        if (!_columns.Contains(column)) _columns.Add(column);
        _cells[(row, column)] = text;
        Console.WriteLine($"  {row} · {column}: {text}");
    }

    public void Print()
    {
        Console.WriteLine();
        Console.WriteLine($"| work | {string.Join(" | ", _columns)} |");
        Console.WriteLine($"|---|{string.Concat(_columns.Select(_ => "---:|"))}");
        foreach (var row in _rows)
            Console.WriteLine($"| {row} | {string.Join(" | ", _columns.Select(c => _cells.GetValueOrDefault((row, c), "-")))} |");
    }
}
