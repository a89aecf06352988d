namespace SelfAlign.Text.Jinja;

/// <summary>A chat template could not be parsed or rendered; the message names the line and the construct.</summary>
public sealed class TemplateException(string message) : Exception(message);
