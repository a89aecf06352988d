using System.Net;
using SelfAlign.Inference;
using SelfAlign.Modeling;
using SelfAlign.Text;

namespace SelfAlign.Serving;

/// <summary>
/// The model a server answers for, and the PEFT adapters loaded onto it at run time, each by its
/// name. One request at a time runs on the engines (they share the machine's cores); the others wait.
/// </summary>
public sealed class ServedModels : IDisposable
{
    readonly string _folder;
    readonly LoadOptions _load;
    readonly LocalModelOptions _engine;
    readonly Tokenizer _tokenizer;
    readonly Dictionary<string, (CausalLm Model, LocalLanguageModel Engine)> _models = new(StringComparer.Ordinal);
    readonly SemaphoreSlim _turn = new(1, 1);

    /// <summary>Loads the base model of <paramref name="folder"/> under <paramref name="name"/>.</summary>
    public ServedModels(string folder, string name, LoadOptions load, LocalModelOptions? engine = null)
    {
        (_folder, _load, _engine, BaseName) = (folder, load, engine ?? new LocalModelOptions(), name);
        _tokenizer = Tokenizer.Load(folder);
        Add(name, null);
    }

    /// <summary>The base model's name.</summary>
    public string BaseName { get; }

    /// <summary>The names served: the base model, then the adapters.</summary>
    public IReadOnlyList<string> Names
    {
        get
        {
            lock (_models) return [.. _models.Keys];
        }
    }

    /// <summary>The longest sequence the model accepts.</summary>
    public int MaxModelLength => Engine(BaseName).MaxSequenceLength;

    /// <summary>The engine answering for <paramref name="name"/>; a 404 (model_not_found) when none does.</summary>
    public LocalLanguageModel Engine(string? name)
    {
        lock (_models)
            return _models.TryGetValue(name ?? BaseName, out var m) ? m.Engine
                : throw new ApiException(HttpStatusCode.NotFound, "invalid_request_error", $"The model `{name}` does not exist.", "model", "model_not_found");
    }

    /// <summary>Loads a PEFT adapter onto the base weights under a new name (vLLM's <c>/v1/load_lora_adapter</c>).</summary>
    public void LoadAdapter(string name, string path)
    {
        lock (_models)
            if (_models.ContainsKey(name))
                throw new ApiException(HttpStatusCode.BadRequest, "invalid_request_error", $"The lora adapter '{name}' has already been loaded.", "lora_name");
        if (!Directory.Exists(path)) throw ApiException.Invalid("lora_path", $"no adapter folder at '{path}'");
        try
        {
            Add(name, path);
        }
        catch (Exception e) when (e is ModelFormatException or FileNotFoundException or InvalidDataException or ArgumentException)
        {
            throw ApiException.Invalid("lora_path", $"the adapter cannot be loaded: {e.Message}");
        }
    }

    /// <summary>Unloads an adapter (vLLM's <c>/v1/unload_lora_adapter</c>); the base model stays.</summary>
    public void UnloadAdapter(string name)
    {
        if (name == BaseName) throw ApiException.Invalid("lora_name", "the base model cannot be unloaded");
        (CausalLm Model, LocalLanguageModel Engine) removed;
        lock (_models)
            if (!_models.Remove(name, out removed))
                throw new ApiException(HttpStatusCode.NotFound, "invalid_request_error", $"The lora adapter '{name}' cannot be found.", "lora_name", "model_not_found");
        _turn.Wait();
        try
        {
            removed.Model.Dispose();
        }
        finally
        {
            _turn.Release();
        }
    }

    void Add(string name, string? adapter)
    {
        var model = ModelFolder.Load(_folder, _load with { Adapter = adapter });
        lock (_models) _models[name] = (model, new LocalLanguageModel(model, _tokenizer, _engine));
    }

    /// <summary>Runs <paramref name="work"/> when the engines are free, or throws a 503 after <paramref name="timeout"/>.</summary>
    public async Task<T> RunAsync<T>(Func<T> work, TimeSpan timeout, CancellationToken cancel)
    {
        if (!await _turn.WaitAsync(timeout, cancel))
            throw new ApiException(HttpStatusCode.ServiceUnavailable, "server_error", $"the model stayed busy for {timeout.TotalSeconds:F0} s; try again", code: "timeout");
        try
        {
            return await Task.Run(work, cancel);
        }
        finally
        {
            _turn.Release();
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_models)
            foreach (var (model, _) in _models.Values) model.Dispose();
        _turn.Dispose();
    }
}
