using SelfAlign.Bench;

// Benchmarks print their throughput next to the machine's own limits, measured in this run.
string which = args.Length > 0 ? args[0] : "model";
int threads = args.Length > 1 ? int.Parse(args[1]) : 2;
SelfAlign.Modeling.TorchRuntime.Configure(threads);
return which switch
{
    "model" => ModelBench.Run(threads, args.Skip(2).ToArray()),
    "generate" => GenerationBench.Run(threads),
    "tokenize" => TokenizerBench.Run(),
    "judge" => JudgeBench.Run(threads, args.Skip(2).ToArray()),
    "dpo" => DpoBench.Run(threads),
    "sample" => SamplerBench.Run(),
    "serve" => ServeBench.Run(threads, args.Skip(2).ToArray()),
    "peers" => PeersBench.Run(threads, args.Skip(2).ToArray()),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: bench [model|generate|tokenize|judge|dpo|sample|serve|peers] [threads] [config.json | pairs | requests clients]");
    return 2;
}
