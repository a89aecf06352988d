using System.Text;
using System.Text.Json;
using SelfAlign.Text.Jinja;

namespace SelfAlign.Text;

/// <summary>One turn of a conversation.</summary>
/// <param name="Role">system, user, assistant (or tool).</param>
/// <param name="Content">The text of the turn.</param>
public sealed record ChatMessage(string Role, string Content);

/// <summary>
/// A model's chat template: the Jinja source of <c>tokenizer_config.json</c>'s <c>chat_template</c>
/// (or <c>chat_template.jinja</c>), rendered the way Hugging Face's <c>apply_chat_template</c> does
/// (trim_blocks, lstrip_blocks, <c>raise_exception</c>, <c>tojson</c>, <c>strftime_now</c>). Parsed once,
/// rendered any number of times; unsupported constructs fail with the line and construct named.
/// </summary>
public sealed class ChatTemplate
{
    /// <summary>The ChatML layout, used for models that ship no template.</summary>
    public const string ChatMlSource =
        "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
        "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

    static readonly IReadOnlyDictionary<string, JsonElement> NoVariables = new Dictionary<string, JsonElement>();
    readonly List<Node> _nodes;
    readonly SpecialTokens? _special;

    /// <summary>Parses <paramref name="source"/>; <paramref name="special"/> supplies bos_token, eos_token and friends.</summary>
    public ChatTemplate(string source, SpecialTokens? special = null)
    {
        Source = source;
        _special = special;
        _nodes = Parser.Parse(source);
    }

    ChatTemplate(ChatTemplate other, IReadOnlyDictionary<string, JsonElement> variables)
    {
        Source = other.Source;
        _special = other._special;
        _nodes = other._nodes;
        Variables = variables;
    }

    /// <summary>The template of <paramref name="tokenizer"/>, or ChatML when it has none, with <paramref name="variables"/> bound.</summary>
    public static ChatTemplate For(Tokenizer tokenizer, IReadOnlyDictionary<string, JsonElement>? variables = null)
    {
        var template = new ChatTemplate(tokenizer.ChatTemplate ?? ChatMlSource, tokenizer.Special);
        return variables is { Count: > 0 } ? template.With(variables) : template;
    }

    /// <summary>
    /// Variables every rendering sees (e.g. Qwen3's <c>enable_thinking</c>), so that the prompt a
    /// candidate was sampled from, judged with and trained on is one prompt.
    /// </summary>
    public IReadOnlyDictionary<string, JsonElement> Variables { get; } = NoVariables;

    /// <summary>The same template with <paramref name="variables"/> bound (the parse is shared).</summary>
    public ChatTemplate With(IReadOnlyDictionary<string, JsonElement> variables) => new(this, variables);

    /// <summary>The Jinja source.</summary>
    public string Source { get; }

    /// <summary>True when this is the ChatML fallback rather than the model's own template.</summary>
    public bool IsFallback => Source == ChatMlSource;

    /// <summary>Renders plain role/content messages.</summary>
    public string Render(IEnumerable<ChatMessage> messages, bool addGenerationPrompt = false, IReadOnlyDictionary<string, JsonElement>? extra = null) =>
        Render(messages.Select(m => (object?)new Dictionary<string, object?> { ["role"] = m.Role, ["content"] = m.Content }).ToList(),
            addGenerationPrompt, extra);

    /// <summary>
    /// Renders messages given as JSON (a list of objects with role, content and any other fields the
    /// template reads, such as tool_calls).
    /// </summary>
    /// <param name="messages">A JSON array of message objects.</param>
    /// <param name="addGenerationPrompt">Append the header that starts the assistant's turn.</param>
    /// <param name="extra">Further template variables, e.g. Qwen3's <c>enable_thinking</c>, <c>tools</c>.</param>
    public string Render(JsonElement messages, bool addGenerationPrompt = false, IReadOnlyDictionary<string, JsonElement>? extra = null)
    {
        if (messages.ValueKind != JsonValueKind.Array) throw new TemplateException("messages must be a JSON array");
        return Render((List<object?>)Values.FromJson(messages)!, addGenerationPrompt, extra);
    }

    string Render(List<object?> messages, bool addGenerationPrompt, IReadOnlyDictionary<string, JsonElement>? extra)
    {
        var scope = new Scope();
        Builtins.AddGlobals(scope, () => DateTime.Now);
        scope.Set("bos_token", _special?.Bos ?? "");
        scope.Set("eos_token", _special?.Eos ?? "");
        scope.Set("pad_token", _special?.Pad ?? "");
        scope.Set("unk_token", _special?.Unk ?? "");
        foreach (var (name, value) in Variables.Concat(extra ?? NoVariables)) scope.Set(name, Values.FromJson(value));
        scope.Set("messages", messages);
        scope.Set("add_generation_prompt", addGenerationPrompt);
        var output = new StringBuilder();
        Node.RenderAll(_nodes, new Scope(scope), output);
        return output.ToString();
    }
}
