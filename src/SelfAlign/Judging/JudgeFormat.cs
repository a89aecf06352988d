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

/// <summary>Turns a judge's request text into the model's token ids, through the model's template and its variables.</summary>
public sealed class JudgeRenderer(Tokenizer tokenizer, ChatTemplate? template)
{
    readonly ChatTemplate? _template = template;

    /// <summary>The renderer of <paramref name="model"/>'s requests in <paramref name="format"/>.</summary>
    public JudgeRenderer(Inference.ILanguageModel model, JudgeFormat format) : this(model.Tokenizer, format == JudgeFormat.Chat ? model.Template : null) { }
    // Per forced answer prefix: the template's ids before and after the user message, rendered once.
    readonly Dictionary<string, (List<int> Before, List<int> After)> _pieces = [];

    /// <summary>
    /// Token ids of <paramref name="request"/> as a user turn followed by the assistant header (or
    /// as is, in plain format, with a line break before the answer), then <paramref name="answerPrefix"/>,
    /// the start of the answer the judge forces. Special tokens come from the template, never from the request.
    /// </summary>
    public IReadOnlyList<int> Ids(string request, string answerPrefix = "")
    {
        // Plain text has no assistant header to separate the answer from the question: a line break does.
        if (_template is null)
            return tokenizer.Encode(answerPrefix.Length == 0 ? request : request + "\n" + answerPrefix, addSpecialTokens: true, allowSpecialTokens: false);
        var (before, after) = Pieces(answerPrefix);
        return [.. before, .. tokenizer.Encode(request, allowSpecialTokens: false), .. after];
    }

    // The rendered template carries its special tokens as text; the user's text must not be able to
    // smuggle one in, so the request is encoded apart and spliced between the template's pieces.
    (List<int> Before, List<int> After) Pieces(string answerPrefix)
    {
        lock (_pieces)
        {
            if (_pieces.TryGetValue(answerPrefix, out var pieces)) return pieces;
            const string marker = "\u0000REQUEST\u0000";
            string rendered = _template!.Render([new ChatMessage("user", marker)], addGenerationPrompt: true) + answerPrefix;
            int at = rendered.IndexOf(marker, StringComparison.Ordinal);
            if (at < 0 || rendered.IndexOf(marker, at + 1, StringComparison.Ordinal) >= 0)
                throw new InvalidOperationException("the chat template does not place the user message exactly once");
            return _pieces[answerPrefix] = (tokenizer.Encode(rendered[..at]), tokenizer.Encode(rendered[(at + marker.Length)..]));
        }
    }
}
