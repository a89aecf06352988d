using System.Globalization;

namespace SelfAlign.Text.Jinja;

/// <summary>
/// Parses template tokens into statements and expressions with Jinja's grammar and precedence:
/// conditional, or, and, not, comparisons and <c>in</c>, + -, ~, * / // %, **, unary minus,
/// then primaries with attribute, item, slice, call, filter and test suffixes.
/// </summary>
internal sealed class Parser(List<Token> tokens)
{
    int _pos;

    Token Peek => tokens[_pos];
    Token Next() => tokens[_pos++];

    public static List<Node> Parse(string source)
    {
        var parser = new Parser(Lexer.Tokenize(source));
        var body = parser.ParseBody(out string? end);
        if (end is not null) throw new TemplateException($"line {parser.Peek.Line}: unexpected '{end}'");
        return body;
    }

    /// <summary>Statements up to an end tag (returned in <paramref name="endTag"/>, its name consumed) or the end of input.</summary>
    List<Node> ParseBody(out string? endTag, params string[] ends)
    {
        var nodes = new List<Node>();
        while (true)
        {
            var t = Next();
            switch (t.Kind)
            {
                case TokenKind.End:
                    if (ends.Length > 0) throw new TemplateException($"line {t.Line}: missing {string.Join(" or ", ends.Select(e => $"'{{% {e} %}}'"))}");
                    endTag = null;
                    return nodes;
                case TokenKind.Text:
                    nodes.Add(new TextNode(t.Line, t.Value));
                    break;
                case TokenKind.OutputStart:
                    nodes.Add(new OutputNode(t.Line, ParseExpression()));
                    Expect(TokenKind.TagEnd);
                    break;
                case TokenKind.BlockStart:
                    var name = Expect(TokenKind.Name);
                    if (ends.Contains(name.Value)) { endTag = name.Value; return nodes; }
                    nodes.Add(ParseStatement(name));
                    break;
                default:
                    throw new TemplateException($"line {t.Line}: unexpected '{t.Value}'");
            }
        }
    }

    Node ParseStatement(Token tag)
    {
        int line = tag.Line;
        switch (tag.Value)
        {
            case "if":
                var branches = new List<(Expr, List<Node>)>();
                var condition = ParseExpression();
                Expect(TokenKind.TagEnd);
                while (true)
                {
                    var body = ParseBody(out string? end, "elif", "else", "endif");
                    branches.Add((condition, body));
                    if (end == "elif") { condition = ParseExpression(); Expect(TokenKind.TagEnd); continue; }
                    Expect(TokenKind.TagEnd);
                    if (end == "endif") return new IfNode(line, branches, []);
                    var elseBody = ParseBody(out _, "endif");
                    Expect(TokenKind.TagEnd);
                    return new IfNode(line, branches, elseBody);
                }
            case "for":
                var targets = ParseTargets();
                ExpectName("in");
                var iterable = ParseExpression(allowConditional: false);
                Expr? filter = null;
                if (Peek.Kind == TokenKind.Name && Peek.Value == "if") { Next(); filter = ParseExpression(allowConditional: false); }
                if (Peek.Kind == TokenKind.Name && Peek.Value == "recursive") throw new TemplateException($"line {line}: recursive loops are not supported");
                Expect(TokenKind.TagEnd);
                var loopBody = ParseBody(out string? loopEnd, "else", "endfor");
                Expect(TokenKind.TagEnd);
                var loopElse = new List<Node>();
                if (loopEnd == "else") { loopElse = ParseBody(out _, "endfor"); Expect(TokenKind.TagEnd); }
                return new ForNode(line, targets, iterable, filter, loopBody, loopElse);
            case "set":
                var names = ParseTargets();
                string? attribute = null;
                if (names.Count == 1 && IsOp(".")) { Next(); attribute = Expect(TokenKind.Name).Value; }
                if (Peek.Kind == TokenKind.TagEnd)
                {
                    Next();
                    var captured = ParseBody(out _, "endset");
                    Expect(TokenKind.TagEnd);
                    return new SetBlockNode(line, names[0], captured);
                }
                ExpectOp("=");
                var value = ParseExpression();
                Expect(TokenKind.TagEnd);
                return new SetNode(line, names, attribute, value);
            case "macro":
                string macro = Expect(TokenKind.Name).Value;
                ExpectOp("(");
                var parameters = new List<(string, Expr?)>();
                while (!IsOp(")"))
                {
                    string p = Expect(TokenKind.Name).Value;
                    Expr? fallback = null;
                    if (IsOp("=")) { Next(); fallback = ParseExpression(); }
                    parameters.Add((p, fallback));
                    if (!IsOp(")")) ExpectOp(",");
                }
                Next();
                Expect(TokenKind.TagEnd);
                var macroBody = ParseBody(out _, "endmacro");
                Expect(TokenKind.TagEnd);
                return new MacroNode(line, macro, parameters, macroBody);
            case "break" or "continue":
                Expect(TokenKind.TagEnd);
                return new LoopControlNode(line, tag.Value == "break" ? Flow.Break : Flow.Continue);
            case "generation":
                // Hugging Face's marker of assistant text (for training masks) renders its body unchanged.
                Expect(TokenKind.TagEnd);
                var generated = ParseBody(out _, "endgeneration");
                Expect(TokenKind.TagEnd);
                return new IfNode(line, [(new Literal(line, true), generated)], []);
            default:
                throw new TemplateException($"line {line}: unsupported tag '{{% {tag.Value} %}}'");
        }
    }

    List<string> ParseTargets()
    {
        var names = new List<string> { Expect(TokenKind.Name).Value };
        while (IsOp(",")) { Next(); names.Add(Expect(TokenKind.Name).Value); }
        return names;
    }

    Expr ParseExpression(bool allowConditional = true)
    {
        var expr = ParseOr();
        if (!allowConditional || Peek.Kind != TokenKind.Name || Peek.Value != "if") return expr;
        int line = Next().Line;
        var condition = ParseOr();
        Expr? otherwise = null;
        if (Peek.Kind == TokenKind.Name && Peek.Value == "else") { Next(); otherwise = ParseExpression(); }
        return new ConditionalExpr(line, condition, expr, otherwise);
    }

    Expr ParseOr()
    {
        var left = ParseAnd();
        while (IsName("or")) left = new BinaryExpr(Next().Line, "or", left, ParseAnd());
        return left;
    }

    Expr ParseAnd()
    {
        var left = ParseNot();
        while (IsName("and")) left = new BinaryExpr(Next().Line, "and", left, ParseNot());
        return left;
    }

    Expr ParseNot() => IsName("not") ? new UnaryExpr(Next().Line, "not", ParseNot()) : ParseCompare();

    Expr ParseCompare()
    {
        var left = ParseAdd();
        while (true)
        {
            int line = Peek.Line;
            if (Peek.Kind == TokenKind.Operator && Peek.Value is "==" or "!=" or "<" or "<=" or ">" or ">=")
                left = new BinaryExpr(line, Next().Value, left, ParseAdd());
            else if (IsName("in")) { Next(); left = new BinaryExpr(line, "in", left, ParseAdd()); }
            else if (IsName("not") && tokens[_pos + 1] is { Kind: TokenKind.Name, Value: "in" }) { _pos += 2; left = new BinaryExpr(line, "not in", left, ParseAdd()); }
            else return left;
        }
    }

    Expr ParseAdd()
    {
        var left = ParseConcat();
        while (Peek.Kind == TokenKind.Operator && Peek.Value is "+" or "-") left = new BinaryExpr(Peek.Line, Next().Value, left, ParseConcat());
        return left;
    }

    Expr ParseConcat()
    {
        var left = ParseMul();
        while (IsOp("~")) left = new BinaryExpr(Next().Line, "~", left, ParseMul());
        return left;
    }

    Expr ParseMul()
    {
        var left = ParsePow();
        while (Peek.Kind == TokenKind.Operator && Peek.Value is "*" or "/" or "//" or "%") left = new BinaryExpr(Peek.Line, Next().Value, left, ParsePow());
        return left;
    }

    Expr ParsePow()
    {
        var left = ParseUnary(withFilter: true);
        while (IsOp("**")) left = new BinaryExpr(Next().Line, "**", left, ParseUnary(withFilter: true));
        return left;
    }

    Expr ParseUnary(bool withFilter)
    {
        Expr node;
        if (IsOp("-") || IsOp("+"))
        {
            var op = Next();
            node = new UnaryExpr(op.Line, op.Value, ParseUnary(withFilter: false));
        }
        else node = ParsePostfix(ParsePrimary());
        return withFilter ? ParseFilters(node) : node;
    }

    Expr ParsePrimary()
    {
        var t = Next();
        switch (t.Kind)
        {
            case TokenKind.String:
                string s = t.Value;
                while (Peek.Kind == TokenKind.String) s += Next().Value;  // adjacent literals concatenate
                return new Literal(t.Line, s);
            case TokenKind.Integer:
                return new Literal(t.Line, long.Parse(t.Value, CultureInfo.InvariantCulture));
            case TokenKind.Float:
                return new Literal(t.Line, double.Parse(t.Value, CultureInfo.InvariantCulture));
            case TokenKind.Name:
                return t.Value switch
                {
                    "true" or "True" => new Literal(t.Line, true),
                    "false" or "False" => new Literal(t.Line, false),
                    "none" or "None" => new Literal(t.Line, null),
                    _ => new NameExpr(t.Line, t.Value),
                };
            case TokenKind.Operator when t.Value == "(":
                var inner = ParseExpression();
                if (IsOp(","))
                {
                    var tuple = new List<Expr> { inner };
                    while (IsOp(",")) { Next(); if (IsOp(")")) break; tuple.Add(ParseExpression()); }
                    inner = new ListExpr(t.Line, tuple);
                }
                ExpectOp(")");
                return inner;
            case TokenKind.Operator when t.Value == "[":
                var items = new List<Expr>();
                while (!IsOp("]")) { items.Add(ParseExpression()); if (!IsOp("]")) ExpectOp(","); }
                Next();
                return new ListExpr(t.Line, items);
            case TokenKind.Operator when t.Value == "{":
                var pairs = new List<(Expr, Expr)>();
                while (!IsOp("}"))
                {
                    var key = ParseExpression();
                    ExpectOp(":");
                    pairs.Add((key, ParseExpression()));
                    if (!IsOp("}")) ExpectOp(",");
                }
                Next();
                return new DictExpr(t.Line, pairs);
            default:
                throw new TemplateException($"line {t.Line}: unexpected '{t.Value}' in an expression");
        }
    }

    Expr ParsePostfix(Expr node)
    {
        while (true)
        {
            int line = Peek.Line;
            if (IsOp("."))
            {
                Next();
                var member = Next();
                node = member.Kind == TokenKind.Integer ? new ItemExpr(line, node, new Literal(line, long.Parse(member.Value, CultureInfo.InvariantCulture)))
                    : member.Kind == TokenKind.Name ? new AttrExpr(line, node, member.Value)
                    : throw new TemplateException($"line {line}: expected a name after '.'");
            }
            else if (IsOp("["))
            {
                Next();
                Expr? start = IsOp(":") ? null : ParseExpression();
                if (IsOp(":"))
                {
                    Next();
                    Expr? stop = IsOp(":") || IsOp("]") ? null : ParseExpression();
                    Expr? step = null;
                    if (IsOp(":")) { Next(); step = IsOp("]") ? null : ParseExpression(); }
                    node = new SliceExpr(line, node, start, stop, step);
                }
                else node = new ItemExpr(line, node, start!);
                ExpectOp("]");
            }
            else if (IsOp("("))
            {
                var (args, kwargs) = ParseArguments();
                node = new CallExpr(line, node, args, kwargs);
            }
            else return node;
        }
    }

    Expr ParseFilters(Expr node)
    {
        while (true)
        {
            int line = Peek.Line;
            if (IsOp("|"))
            {
                Next();
                string name = Expect(TokenKind.Name).Value;
                var (args, kwargs) = IsOp("(") ? ParseArguments() : ([], []);
                node = new FilterExpr(line, node, name, args, kwargs);
            }
            else if (IsName("is"))
            {
                Next();
                bool negated = IsName("not");
                if (negated) Next();
                var test = Next();
                string name = test.Kind == TokenKind.Name ? test.Value
                    : test.Kind == TokenKind.Operator && test.Value is "==" or "!=" ? test.Value
                    : throw new TemplateException($"line {line}: expected a test name after 'is'");
                var args = new List<Expr>();
                if (IsOp("(")) args = ParseArguments().Args;
                else if (Peek.Kind is TokenKind.String or TokenKind.Integer or TokenKind.Float || (Peek.Kind == TokenKind.Name && !IsKeyword(Peek.Value)))
                    args.Add(ParsePostfix(ParsePrimary()));
                node = new TestExpr(line, node, name, args, negated);
            }
            else return node;
        }
    }

    static bool IsKeyword(string name) => name is "and" or "or" or "not" or "in" or "is" or "if" or "else";

    (List<Expr> Args, List<(string, Expr)> Kwargs) ParseArguments()
    {
        ExpectOp("(");
        var args = new List<Expr>();
        var kwargs = new List<(string, Expr)>();
        while (!IsOp(")"))
        {
            if (Peek.Kind == TokenKind.Name && tokens[_pos + 1] is { Kind: TokenKind.Operator, Value: "=" })
            {
                string name = Next().Value;
                Next();
                kwargs.Add((name, ParseExpression()));
            }
            else args.Add(ParseExpression());
            if (!IsOp(")")) ExpectOp(",");
        }
        Next();
        return (args, kwargs);
    }

    bool IsOp(string op) => Peek.Kind == TokenKind.Operator && Peek.Value == op;
    bool IsName(string name) => Peek.Kind == TokenKind.Name && Peek.Value == name;

    Token Expect(TokenKind kind)
    {
        var t = Next();
        return t.Kind == kind ? t : throw new TemplateException($"line {t.Line}: expected {Describe(kind)}, found '{t.Value}'");
    }

    void ExpectName(string name)
    {
        var t = Next();
        if (t.Kind != TokenKind.Name || t.Value != name) throw new TemplateException($"line {t.Line}: expected '{name}', found '{t.Value}'");
    }

    void ExpectOp(string op)
    {
        var t = Next();
        if (t.Kind != TokenKind.Operator || t.Value != op) throw new TemplateException($"line {t.Line}: expected '{op}', found '{t.Value}'");
    }

    static string Describe(TokenKind kind) => kind switch
    {
        TokenKind.TagEnd => "the end of the tag",
        TokenKind.Name => "a name",
        _ => kind.ToString(),
    };
}
