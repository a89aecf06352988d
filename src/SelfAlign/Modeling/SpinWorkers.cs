namespace SelfAlign.Modeling;

/// <summary>
/// A few long-lived threads that run parts of one job with the caller, for work too short for the
/// thread pool (a decode step runs about 150 jobs of 10-300 µs). An idle worker spins for 1 ms,
/// long enough to catch the next job of a step, then sleeps: a spinning worker takes a core from
/// libtorch's own threads, and a team of those waits for its slowest member, so work that
/// alternates with libtorch's does not run here.
/// </summary>
internal sealed class SpinWorkers
{
    static readonly long SpinTicks = System.Diagnostics.Stopwatch.Frequency / 1_000;
    readonly object _gate = new(), _caller = new();
    readonly int _parts;
    Action<int>? _job;
    Exception? _failure;
    long _generation;
    int _pending, _sleepers;

    SpinWorkers(int parts)
    {
        _parts = parts;
        for (int i = 1; i < parts; i++)
        {
            int part = i;
            new Thread(() => Loop(part)) { IsBackground = true, Name = $"selfalign-decode-{part}" }.Start();
        }
    }

    /// <summary>The process's workers, one part per libtorch CPU thread.</summary>
    public static SpinWorkers Shared => Pool.Value;
    static readonly Lazy<SpinWorkers> Pool = new(() => new SpinWorkers(Math.Max(1, TorchSharp.torch.get_num_threads())));

    /// <summary>How many parts each job is cut into.</summary>
    public int Parts => _parts;

    /// <summary>
    /// Runs <paramref name="job"/>(part) for every part, part 0 on the calling thread; returns when all
    /// are done, rethrowing a worker's exception. Callers on several threads take turns.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public void Run(Action<int> job)
    {
        if (_parts == 1) { job(0); return; }
        lock (_caller)
        {
            _job = job;
            _failure = null;
            Volatile.Write(ref _pending, _parts - 1);
            Interlocked.Increment(ref _generation);
            if (Volatile.Read(ref _sleepers) > 0) lock (_gate) Monitor.PulseAll(_gate);
            try
            {
                job(0);
            }
            finally
            {
                var spin = new SpinWait();
                while (Volatile.Read(ref _pending) > 0) spin.SpinOnce(-1);
            }
            if (_failure is { } failure) throw new AggregateException(failure);
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    void Loop(int part)
    {
        long seen = 0;
        while (true)
        {
            long since = System.Diagnostics.Stopwatch.GetTimestamp();
            while (Interlocked.Read(ref _generation) == seen)
            {
                if (System.Diagnostics.Stopwatch.GetTimestamp() - since < SpinTicks) { Thread.SpinWait(20); continue; }
                lock (_gate)
                {
                    Interlocked.Increment(ref _sleepers);
                    while (Interlocked.Read(ref _generation) == seen) Monitor.Wait(_gate);
                    Interlocked.Decrement(ref _sleepers);
                }
            }
            seen = Interlocked.Read(ref _generation);
            try
            {
                _job!(part);
            }
            catch (Exception e)
            {
                _failure = e;
            }
            finally
            {
                Interlocked.Decrement(ref _pending);
            }
        }
    }
}
