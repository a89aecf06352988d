using System.Threading.Channels;
using SelfAlign.Inference;

namespace SelfAlign.Serving;

/// <summary>
/// Judge requests that arrive while the engine is busy wait here and are answered together: one
/// engine call computes the next-token distribution of every waiting prompt of a model, so shared
/// prompt prefixes (the template and the judge's instruction) are computed once for all of them,
/// as the local judge does.
/// </summary>
internal sealed class NextTokenBatcher : IAsyncDisposable
{
    /// <summary>Most prompts in one engine call.</summary>
    public const int MaxBatch = 64;

    readonly Channel<(LocalLanguageModel Engine, IReadOnlyList<int> Prompt, TaskCompletionSource<double[]> Done)> _queue =
        Channel.CreateUnbounded<(LocalLanguageModel, IReadOnlyList<int>, TaskCompletionSource<double[]>)>();
    readonly ServedModels _models;
    readonly TimeSpan _timeout;
    readonly Task _worker;

    public NextTokenBatcher(ServedModels models, TimeSpan timeout)
    {
        (_models, _timeout) = (models, timeout);
        _worker = Task.Run(Work);
    }

    /// <summary>The next-token log-probabilities of <paramref name="prompt"/> over the vocabulary.</summary>
    public Task<double[]> Enqueue(LocalLanguageModel engine, IReadOnlyList<int> prompt)
    {
        var done = new TaskCompletionSource<double[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_queue.Writer.TryWrite((engine, prompt, done))) done.SetException(new ObjectDisposedException(nameof(NextTokenBatcher)));
        return done.Task;
    }

    async Task Work()
    {
        var waiting = new List<(LocalLanguageModel Engine, IReadOnlyList<int> Prompt, TaskCompletionSource<double[]> Done)>();
        while (await _queue.Reader.WaitToReadAsync())
        {
            while (waiting.Count < MaxBatch && _queue.Reader.TryRead(out var item)) waiting.Add(item);
            foreach (var group in waiting.GroupBy(w => w.Engine))
            {
                var items = group.ToList();
                try
                {
                    var results = await _models.RunAsync(() => CompletionService.NextToken(group.Key, [.. items.Select(i => i.Prompt)]), _timeout, CancellationToken.None);
                    for (int i = 0; i < items.Count; i++) items[i].Done.SetResult(results[i]);
                }
                catch (Exception e)
                {
                    foreach (var item in items) item.Done.SetException(e);
                }
            }
            waiting.Clear();
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _worker;
    }
}
