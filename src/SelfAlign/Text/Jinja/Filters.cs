using System.Globalization;
using System.Net;

namespace SelfAlign.Text.Jinja;

/// <summary>The Jinja filters chat templates use, with Jinja's semantics.</summary>
internal static class Filters
{
    public static object? Apply(string name, object? v, List<object?> args, Dictionary<string, object?> kwargs, int line)
    {
        object? Arg(int i, string key, object? fallback) => i < args.Count ? args[i] : kwargs.TryGetValue(key, out var k) ? k : fallback;
        try
        {
            return name switch
            {
                "trim" => Arg(0, "chars", null) is string chars ? Values.Str(v).Trim(chars.ToCharArray()) : Values.Str(v).Trim(),
                "length" or "count" => (long)Length(v, line),
                "tojson" => Values.ToJson(v, Arg(0, "indent", null) is long n ? (int)n : null, Values.Truthy(Arg(1, "sort_keys", false))),
                "string" => Values.Str(v),
                "upper" => Values.Str(v).ToUpperInvariant(),
                "lower" => Values.Str(v).ToLowerInvariant(),
                "title" => Title(Values.Str(v)),
                "capitalize" => Capitalize(Values.Str(v)),
                "default" or "d" => v is Undefined || (Values.Truthy(Arg(1, "boolean", false)) && !Values.Truthy(v)) ? Arg(0, "default_value", "") : v,
                "first" => Builtins.Iterate(v, line).FirstOrDefault(new Undefined("first")),
                "last" => v is List<object?> l && l.Count > 0 ? l[^1] : v is string s && s.Length > 0 ? s[^1].ToString() : new Undefined("last"),
                "join" => string.Join(Values.Str(Arg(0, "d", "")), Attribute(Builtins.Iterate(v, line), Arg(1, "attribute", null), line).Select(Values.Str)),
                "list" => Builtins.Iterate(v, line).ToList(),
                "reverse" => v is string s ? new string(s.Reverse().ToArray()) : Builtins.Iterate(v, line).Reverse().ToList(),
                "int" => ToInt(v, Arg(0, "default", 0L)),
                "float" => ToFloat(v, Arg(0, "default", 0.0)),
                "abs" => v is long i ? (object)Math.Abs(i) : Math.Abs(Values.ToDouble(v)),
                "round" => Round(Values.ToDouble(v), Arg(0, "precision", 0L) is long p ? (int)p : 0, Values.Str(Arg(1, "method", "common"))),
                "replace" => Values.Str(v).Replace(Values.Str(Arg(0, "old", "")), Values.Str(Arg(1, "new", ""))),
                "items" => v is Dictionary<string, object?> d ? d.Select(kv => (object?)new List<object?> { kv.Key, kv.Value }).ToList() : [],
                "dictsort" => v is Dictionary<string, object?> ds ? ds.OrderBy(kv => kv.Key, StringComparer.OrdinalIgnoreCase).Select(kv => (object?)new List<object?> { kv.Key, kv.Value }).ToList() : [],
                "unique" => Builtins.Iterate(v, line).Aggregate(new List<object?>(), (acc, x) => { if (!acc.Any(y => Values.Equal(x, y))) acc.Add(x); return acc; }),
                "sum" => Builtins.Iterate(v, line).Aggregate((object?)0L, (acc, x) => Builtins.Arithmetic("+", acc, x, line)),
                "min" => Builtins.Iterate(v, line).Aggregate((a, b) => Values.Compare(a, b) <= 0 ? a : b),
                "max" => Builtins.Iterate(v, line).Aggregate((a, b) => Values.Compare(a, b) >= 0 ? a : b),
                "map" => Map(v, args, kwargs, line),
                "select" or "reject" => Builtins.Iterate(v, line).Where(x => Tests.Apply(Values.Str(Arg(0, "test", "")), x, args.Skip(1).ToList(), line) == (name == "select")).ToList(),
                "selectattr" or "rejectattr" => SelectAttr(v, args, name == "selectattr", line),
                "indent" => Indent(Values.Str(v), Arg(0, "width", 4L), Values.Truthy(Arg(1, "first", false)), Values.Truthy(Arg(2, "blank", false))),
                "safe" => v,
                "e" or "escape" => WebUtility.HtmlEncode(Values.Str(v)),
                "wordcount" => (long)Values.Str(v).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length,
                _ => throw new TemplateException($"line {line}: unsupported filter '{name}'"),
            };
        }
        catch (TemplateException e) when (!e.Message.StartsWith("line "))
        {
            throw new TemplateException($"line {line}: filter '{name}': {e.Message}");
        }
    }

    static int Length(object? v, int line) => v switch
    {
        string s => s.Length,
        List<object?> l => l.Count,
        Dictionary<string, object?> d => d.Count,
        Undefined => 0,
        _ => throw new TemplateException($"line {line}: {Values.TypeName(v)} has no length"),
    };

    public static string Title(string s)
    {
        var chars = s.ToCharArray();
        bool start = true;
        for (int i = 0; i < chars.Length; i++)
        {
            bool letter = char.IsLetterOrDigit(chars[i]);
            chars[i] = letter ? (start ? char.ToUpperInvariant(chars[i]) : char.ToLowerInvariant(chars[i])) : chars[i];
            start = !letter && chars[i] != '\'';
        }
        return new string(chars);
    }

    public static string Capitalize(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..].ToLowerInvariant();

    static object? ToInt(object? v, object? fallback) => v switch
    {
        long l => l,
        double d => (long)Math.Truncate(d),
        bool b => b ? 1L : 0L,
        string s when long.TryParse(s.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out long l) => l,
        string s when double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double d) => (long)Math.Truncate(d),
        _ => fallback,
    };

    static object? ToFloat(object? v, object? fallback) => v switch
    {
        long l => (double)l,
        double d => d,
        string s when double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double d) => d,
        _ => fallback,
    };

    static double Round(double v, int precision, string method) => method switch
    {
        "floor" => Math.Floor(v * Math.Pow(10, precision)) / Math.Pow(10, precision),
        "ceil" => Math.Ceiling(v * Math.Pow(10, precision)) / Math.Pow(10, precision),
        _ => Math.Round(v, precision, MidpointRounding.AwayFromZero),
    };

    static IEnumerable<object?> Attribute(IEnumerable<object?> items, object? attribute, int line) =>
        attribute is string a ? items.Select(x => Path(x, a, line)) : items;

    // "a.b" reads nested attributes, as Jinja's attribute= arguments do.
    static object? Path(object? x, string path, int line)
    {
        foreach (var part in path.Split('.'))
            x = long.TryParse(part, out long i) ? Builtins.GetItem(x, i, line) : Builtins.GetAttr(x, part, line);
        return x;
    }

    static List<object?> Map(object? v, List<object?> args, Dictionary<string, object?> kwargs, int line)
    {
        var items = Builtins.Iterate(v, line);
        if (kwargs.TryGetValue("attribute", out var attr))
        {
            object? fallback = kwargs.TryGetValue("default", out var f) ? f : null;
            return items.Select(x => Path(x, Values.Str(attr), line) is Undefined && fallback is not null ? fallback : Path(x, Values.Str(attr), line)).ToList();
        }
        if (args.Count == 0) throw new TemplateException($"line {line}: map needs a filter name or attribute=");
        string filter = Values.Str(args[0]);
        return items.Select(x => Apply(filter, x, args.Skip(1).ToList(), [], line)).ToList();
    }

    static List<object?> SelectAttr(object? v, List<object?> args, bool keep, int line)
    {
        if (args.Count == 0) throw new TemplateException($"line {line}: selectattr needs an attribute name");
        string attr = Values.Str(args[0]);
        return Builtins.Iterate(v, line).Where(x =>
        {
            var value = Path(x, attr, line);
            bool pass = args.Count > 1 ? Tests.Apply(Values.Str(args[1]), value, args.Skip(2).ToList(), line) : Values.Truthy(value);
            return pass == keep;
        }).ToList();
    }

    static string Indent(string s, object? width, bool first, bool blank)
    {
        string pad = width is string w ? w : new string(' ', (int)(width as long? ?? 4));
        var lines = s.Split('\n');
        for (int i = 0; i < lines.Length; i++)
            if ((i > 0 || first) && (blank || lines[i].Trim().Length > 0)) lines[i] = pad + lines[i];
        return string.Join('\n', lines);
    }
}

/// <summary>The Jinja tests (<c>x is defined</c>, <c>x is string</c>, ...).</summary>
internal static class Tests
{
    public static bool Apply(string name, object? v, List<object?> args, int line) => name switch
    {
        "defined" => v is not Undefined,
        "undefined" => v is Undefined,
        "none" => v is null,
        "string" => v is string,
        "number" => v is long or double,
        "integer" => v is long,
        "float" => v is double,
        "boolean" => v is bool,
        "true" => v is true,
        "false" => v is false,
        "mapping" => v is Dictionary<string, object?>,
        "sequence" => v is List<object?> or string,
        "iterable" => v is List<object?> or string or Dictionary<string, object?>,
        "callable" => v is Callable,
        "odd" => v is long l && l % 2 != 0,
        "even" => v is long l && l % 2 == 0,
        "divisibleby" => v is long l && args.Count > 0 && args[0] is long d && d != 0 && l % d == 0,
        "eq" or "equalto" or "==" => args.Count > 0 && Values.Equal(v, args[0]),
        "ne" or "!=" => args.Count > 0 && !Values.Equal(v, args[0]),
        "in" => args.Count > 0 && Builtins.Contains(args[0], v, line),
        "lower" => v is string s && s == s.ToLowerInvariant(),
        "upper" => v is string s && s == s.ToUpperInvariant(),
        _ => throw new TemplateException($"line {line}: unsupported test '{name}'"),
    };
}
