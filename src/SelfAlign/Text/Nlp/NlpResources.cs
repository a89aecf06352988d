namespace SelfAlign.Text.Nlp;

/// <summary>The tables embedded in the library (Text/Nlp/Resources, with their sources in its README).</summary>
static class NlpResources
{
    /// <summary>Opens the embedded resource <paramref name="name"/>.</summary>
    public static Stream Open(string name) =>
        typeof(NlpResources).Assembly.GetManifestResourceStream("SelfAlign.Nlp." + name)
        ?? throw new InvalidOperationException($"the library lacks its embedded resource {name}");
}
