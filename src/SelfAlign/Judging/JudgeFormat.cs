using SelfAlign.Text;

namespace SelfAlign.Judging;

/// <summary>How a judge's request reaches the model.</summary>
public enum JudgeFormat
{
    /// <summary>As a user turn through the model's chat template, followed by the assistant header.</summary>
    Chat,
    /// <summary>As raw text without a template (the IPO authors' evaluation code).</summary>
    Plain,
}

/// <summary>Turns a judge's request text into the model's token ids.</summary>
public sealed class JudgeRenderer(Tokenizer tokenizer, JudgeFormat format)
{
    readonly ChatTemplate? _template = format == JudgeFormat.Chat ? ChatTemplate.For(tokenizer) : null;

    /// <summary>The format in use.</summary>
    public JudgeFormat Format => format;

    /// <summary>
    /// The full text the model reads: <paramref name="request"/> as a user turn (or as is, in plain
    /// format), then <paramref name="answerPrefix"/>, the start of the answer the judge forces.
    /// </summary>
    public string Text(string request, string answerPrefix = "") => _template is null
        ? request + answerPrefix
        : _template.Render([new ChatMessage("user", request)], addGenerationPrompt: true) + answerPrefix;

    /// <summary>Token ids of <see cref="Text"/>; special tokens come from the template, never from the request.</summary>
    public IReadOnlyList<int> Ids(string request, string answerPrefix = "") =>
        _template is null
            ? tokenizer.Encode(request + answerPrefix, addSpecialTokens: true, allowSpecialTokens: false)
            : TemplateIds(request, answerPrefix);

    // The rendered template carries its special tokens as text; the user's text must not be able to
    // smuggle one in, so the request is encoded apart and spliced between the template's pieces.
    IReadOnlyList<int> TemplateIds(string request, string answerPrefix)
    {
        const string marker = "\u0000REQUEST\u0000";
        string rendered = _template!.Render([new ChatMessage("user", marker)], addGenerationPrompt: true) + answerPrefix;
        int at = rendered.IndexOf(marker, StringComparison.Ordinal);
        if (at < 0 || rendered.IndexOf(marker, at + 1, StringComparison.Ordinal) >= 0)
            throw new InvalidOperationException("the chat template does not place the user message exactly once");
        var ids = tokenizer.Encode(rendered[..at]);
        ids.AddRange(tokenizer.Encode(request, allowSpecialTokens: false));
        ids.AddRange(tokenizer.Encode(rendered[(at + marker.Length)..]));
        return ids;
    }
}
