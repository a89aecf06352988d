namespace SelfAlign.Text.Jinja;

/// <summary>Variables visible at one point of rendering; loop bodies and macros get a child scope.</summary>
internal sealed class Scope(Scope? parent = null)
{
    readonly Dictionary<string, object?> _vars = [];

    public object? Lookup(string name)
    {
        for (var s = this; s is not null; s = s.Parent)
            if (s._vars.TryGetValue(name, out var v)) return v;
        return new Undefined(name);
    }

    public void Set(string name, object? value) => _vars[name] = value;

    public Scope? Parent { get; } = parent;
}
