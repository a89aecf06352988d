using SelfAlign.Inference.Remote;
using SelfAlign.Modeling;
using SelfAlign.Text;

namespace SelfAlign.Inference;

/// <summary>An engine and what must be released after it (the local model's weights, or the remote pool).</summary>
/// <param name="Engine">The engine.</param>
/// <param name="Owner">What the engine holds.</param>
public sealed record OpenedEngine(ILanguageModel Engine, IDisposable Owner) : IDisposable
{
    /// <inheritdoc />
    public void Dispose() => Owner.Dispose();
}

/// <summary>Opens the engine a command runs on: the model folder loaded here, or inference servers.</summary>
public static class Engines
{
    /// <summary>Checks a model folder before anything is written: its weights here, or (for servers) its tokenizer.</summary>
    public static void Check(string modelFolder, RemoteEngineOptions? remote)
    {
        if (remote is null) ModelFolder.Check(modelFolder);
        else Tokenizer.Load(modelFolder);
    }

    /// <summary>
    /// With <paramref name="remote"/>, an engine on those servers that reads only the tokenizer and
    /// chat template of <paramref name="modelFolder"/>; otherwise the folder's weights loaded here.
    /// </summary>
    public static OpenedEngine Open(string modelFolder, RemoteEngineOptions? remote, LoadOptions load, LocalModelOptions local)
    {
        var tokenizer = Tokenizer.Load(modelFolder);
        if (remote is not null)
        {
            var engine = new RemoteLanguageModel(tokenizer, remote, local.TemplateVariables);
            return new OpenedEngine(engine, engine);
        }
        var model = ModelFolder.Load(modelFolder, load);
        return new OpenedEngine(new LocalLanguageModel(model, tokenizer, local), model);
    }
}
