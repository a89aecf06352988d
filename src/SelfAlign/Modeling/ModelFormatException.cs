namespace SelfAlign.Modeling;

/// <summary>
/// A model folder or one of its files is missing, malformed or unsupported. The message always
/// names the file and, where one is at fault, the field or tensor.
/// </summary>
public sealed class ModelFormatException : Exception
{
    /// <summary>Creates the exception for <paramref name="file"/>.</summary>
    public ModelFormatException(string file, string message, Exception? inner = null)
        : base($"{file}: {message}", inner)
    {
        File = file;
    }

    /// <summary>The file at fault.</summary>
    public string File { get; }
}
