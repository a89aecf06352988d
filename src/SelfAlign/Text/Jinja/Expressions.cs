namespace SelfAlign.Text.Jinja;

/// <summary>An expression of the template language, evaluated against a scope.</summary>
internal abstract record Expr(int Line)
{
    public abstract object? Eval(Scope scope);
}

internal sealed record Literal(int Line, object? Value) : Expr(Line)
{
    public override object? Eval(Scope scope) => Value;
}

internal sealed record NameExpr(int Line, string Name) : Expr(Line)
{
    public override object? Eval(Scope scope) => scope.Lookup(Name);
}

internal sealed record ListExpr(int Line, List<Expr> Items) : Expr(Line)
{
    public override object? Eval(Scope scope) => Items.Select(i => i.Eval(scope)).ToList();
}

internal sealed record DictExpr(int Line, List<(Expr Key, Expr Value)> Items) : Expr(Line)
{
    public override object? Eval(Scope scope)
    {
        var dict = new Dictionary<string, object?>();
        foreach (var (k, v) in Items)
            dict[k.Eval(scope) as string ?? throw new TemplateException($"line {Line}: dict keys must be strings")] = v.Eval(scope);
        return dict;
    }
}

internal sealed record AttrExpr(int Line, Expr Target, string Name) : Expr(Line)
{
    public override object? Eval(Scope scope) => Builtins.GetAttr(Target.Eval(scope), Name, Line);
}

internal sealed record ItemExpr(int Line, Expr Target, Expr Index) : Expr(Line)
{
    public override object? Eval(Scope scope) => Builtins.GetItem(Target.Eval(scope), Index.Eval(scope), Line);
}

internal sealed record SliceExpr(int Line, Expr Target, Expr? Start, Expr? Stop, Expr? Step) : Expr(Line)
{
    public override object? Eval(Scope scope) =>
        Builtins.Slice(Target.Eval(scope), Start?.Eval(scope), Stop?.Eval(scope), Step?.Eval(scope), Line);
}

internal sealed record CallExpr(int Line, Expr Function, List<Expr> Args, List<(string Name, Expr Value)> Kwargs) : Expr(Line)
{
    public override object? Eval(Scope scope)
    {
        var f = Function.Eval(scope);
        if (f is not Callable call)
            throw new TemplateException($"line {Line}: {Describe(Function)} is not callable ({Values.TypeName(f)})");
        return call(Args.Select(a => a.Eval(scope)).ToList(), Kwargs.ToDictionary(k => k.Name, k => k.Value.Eval(scope)));
    }

    static string Describe(Expr e) => e switch
    {
        NameExpr n => $"'{n.Name}'",
        AttrExpr a => $"'{a.Name}'",
        _ => "the expression",
    };
}

internal sealed record FilterExpr(int Line, Expr Target, string Name, List<Expr> Args, List<(string Name, Expr Value)> Kwargs) : Expr(Line)
{
    public override object? Eval(Scope scope) =>
        Filters.Apply(Name, Target.Eval(scope), Args.Select(a => a.Eval(scope)).ToList(),
            Kwargs.ToDictionary(k => k.Name, k => k.Value.Eval(scope)), Line);
}

internal sealed record TestExpr(int Line, Expr Target, string Name, List<Expr> Args, bool Negated) : Expr(Line)
{
    public override object? Eval(Scope scope) =>
        Tests.Apply(Name, Target.Eval(scope), Args.Select(a => a.Eval(scope)).ToList(), Line) != Negated;
}

internal sealed record UnaryExpr(int Line, string Op, Expr Operand) : Expr(Line)
{
    public override object? Eval(Scope scope)
    {
        var v = Operand.Eval(scope);
        return Op switch
        {
            "not" => !Values.Truthy(v),
            "-" => v is long l ? (object)(-l) : -Values.ToDouble(v),
            _ => v,
        };
    }
}

internal sealed record ConditionalExpr(int Line, Expr Condition, Expr Then, Expr? Else) : Expr(Line)
{
    public override object? Eval(Scope scope) =>
        Values.Truthy(Condition.Eval(scope)) ? Then.Eval(scope) : Else?.Eval(scope) ?? new Undefined("else");
}

internal sealed record BinaryExpr(int Line, string Op, Expr Left, Expr Right) : Expr(Line)
{
    public override object? Eval(Scope scope)
    {
        if (Op == "and") { var l = Left.Eval(scope); return Values.Truthy(l) ? Right.Eval(scope) : l; }
        if (Op == "or") { var l = Left.Eval(scope); return Values.Truthy(l) ? l : Right.Eval(scope); }
        object? a = Left.Eval(scope), b = Right.Eval(scope);
        try
        {
            return Op switch
            {
                "==" => Values.Equal(a, b),
                "!=" => !Values.Equal(a, b),
                "<" => Values.Compare(a, b) < 0,
                "<=" => Values.Compare(a, b) <= 0,
                ">" => Values.Compare(a, b) > 0,
                ">=" => Values.Compare(a, b) >= 0,
                "in" => Builtins.Contains(b, a, Line),
                "not in" => !Builtins.Contains(b, a, Line),
                "~" => Values.Str(a) + Values.Str(b),
                _ => Builtins.Arithmetic(Op, a, b, Line),
            };
        }
        catch (TemplateException e) when (!e.Message.StartsWith("line "))
        {
            throw new TemplateException($"line {Line}: {e.Message}");
        }
    }
}
