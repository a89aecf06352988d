using System.Text;

namespace SelfAlign.Text.Jinja;

/// <summary>How a statement list ended: normally, or by <c>break</c> / <c>continue</c>.</summary>
internal enum Flow { Normal, Break, Continue }

/// <summary>A statement of the template: text, output, control flow, assignment.</summary>
internal abstract record Node(int Line)
{
    public abstract Flow Render(Scope scope, StringBuilder output);

    public static Flow RenderAll(List<Node> nodes, Scope scope, StringBuilder output)
    {
        foreach (var node in nodes)
        {
            var flow = node.Render(scope, output);
            if (flow != Flow.Normal) return flow;
        }
        return Flow.Normal;
    }
}

internal sealed record TextNode(int Line, string Text) : Node(Line)
{
    public override Flow Render(Scope scope, StringBuilder output) { output.Append(Text); return Flow.Normal; }
}

internal sealed record OutputNode(int Line, Expr Value) : Node(Line)
{
    public override Flow Render(Scope scope, StringBuilder output) { output.Append(Values.Str(Value.Eval(scope))); return Flow.Normal; }
}

internal sealed record IfNode(int Line, List<(Expr Condition, List<Node> Body)> Branches, List<Node> Else) : Node(Line)
{
    public override Flow Render(Scope scope, StringBuilder output)
    {
        foreach (var (condition, body) in Branches)
            if (Values.Truthy(condition.Eval(scope))) return RenderAll(body, scope, output);
        return RenderAll(Else, scope, output);
    }
}

internal sealed record ForNode(int Line, List<string> Targets, Expr Iterable, Expr? Filter, List<Node> Body, List<Node> Else) : Node(Line)
{
    public override Flow Render(Scope scope, StringBuilder output)
    {
        var items = Builtins.Iterate(Iterable.Eval(scope), Line).ToList();
        if (Filter is not null)
            items = items.Where(item => Values.Truthy(Filter.Eval(Bind(scope, item)))).ToList();
        if (items.Count == 0) return RenderAll(Else, scope, output);
        for (int i = 0; i < items.Count; i++)
        {
            // Each iteration gets a fresh scope: assignments in the body never outlive it.
            var inner = Bind(scope, items[i]);
            inner.Set("loop", new LoopInfo(items, i));
            if (RenderAll(Body, inner, output) == Flow.Break) break;
        }
        return Flow.Normal;
    }

    Scope Bind(Scope scope, object? item)
    {
        var inner = new Scope(scope);
        SetNode.Assign(inner, Targets, item, Line);
        return inner;
    }
}

internal sealed record SetNode(int Line, List<string> Targets, string? Attribute, Expr Value) : Node(Line)
{
    public override Flow Render(Scope scope, StringBuilder output)
    {
        var value = Value.Eval(scope);
        if (Attribute is null) { Assign(scope, Targets, value, Line); return Flow.Normal; }
        if (scope.Lookup(Targets[0]) is not Namespace ns)
            throw new TemplateException($"line {Line}: can only set attributes of a namespace ('{Targets[0]}.{Attribute}')");
        ns.Fields[Attribute] = value;
        return Flow.Normal;
    }

    public static void Assign(Scope scope, List<string> targets, object? value, int line)
    {
        if (targets.Count == 1) { scope.Set(targets[0], value); return; }
        var items = Builtins.Iterate(value, line).ToList();
        if (items.Count != targets.Count)
            throw new TemplateException($"line {line}: cannot unpack {items.Count} values into {targets.Count} names");
        for (int i = 0; i < targets.Count; i++) scope.Set(targets[i], items[i]);
    }
}

internal sealed record SetBlockNode(int Line, string Target, List<Node> Body) : Node(Line)
{
    public override Flow Render(Scope scope, StringBuilder output)
    {
        var captured = new StringBuilder();
        RenderAll(Body, scope, captured);
        scope.Set(Target, captured.ToString());
        return Flow.Normal;
    }
}

internal sealed record MacroNode(int Line, string Name, List<(string Name, Expr? Default)> Parameters, List<Node> Body) : Node(Line)
{
    public override Flow Render(Scope scope, StringBuilder output)
    {
        scope.Set(Name, (Callable)((args, kwargs) =>
        {
            var inner = new Scope(scope);
            for (int i = 0; i < Parameters.Count; i++)
            {
                var (name, fallback) = Parameters[i];
                inner.Set(name, i < args.Count ? args[i]
                    : kwargs.TryGetValue(name, out var v) ? v
                    : fallback is not null ? fallback.Eval(scope) : new Undefined(name));
            }
            var result = new StringBuilder();
            RenderAll(Body, inner, result);
            return result.ToString();
        }));
        return Flow.Normal;
    }
}

internal sealed record LoopControlNode(int Line, Flow Flow) : Node(Line)
{
    public override Flow Render(Scope scope, StringBuilder output) => Flow;
}

/// <summary>The <c>loop</c> variable inside a for loop.</summary>
internal sealed class LoopInfo(List<object?> items, int index)
{
    public object? Get(string name) => name switch
    {
        "index" => (long)index + 1,
        "index0" => (long)index,
        "revindex" => (long)(items.Count - index),
        "revindex0" => (long)(items.Count - index - 1),
        "first" => index == 0,
        "last" => index == items.Count - 1,
        "length" => (long)items.Count,
        "previtem" => index > 0 ? items[index - 1] : new Undefined("previtem"),
        "nextitem" => index < items.Count - 1 ? items[index + 1] : new Undefined("nextitem"),
        "cycle" => (Callable)((args, _) => args.Count == 0 ? null : args[index % args.Count]),
        _ => new Undefined($"loop.{name}"),
    };
}
