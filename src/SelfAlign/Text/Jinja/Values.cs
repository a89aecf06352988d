using System.Globalization;
using System.Text;
using System.Text.Json;

namespace SelfAlign.Text.Jinja;

/// <summary>A name or key that does not exist: renders as nothing, is falsy, fails when used further.</summary>
internal sealed class Undefined(string name)
{
    public string Name { get; } = name;
}

/// <summary>The mutable object of <c>namespace(...)</c>, the one value a loop body may change for later iterations.</summary>
internal sealed class Namespace(Dictionary<string, object?> fields)
{
    public Dictionary<string, object?> Fields { get; } = fields;
}

/// <summary>A callable value: a macro, a global function or a bound method.</summary>
internal delegate object? Callable(List<object?> args, Dictionary<string, object?> kwargs);

/// <summary>
/// Template values follow Python: null is <c>None</c>, numbers are long or double, lists are
/// <c>List&lt;object?&gt;</c>, mappings are insertion-ordered <c>Dictionary&lt;string, object?&gt;</c>.
/// </summary>
internal static class Values
{
    /// <summary>Converts a JSON value (messages, tools, extra arguments) to a template value.</summary>
    public static object? FromJson(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => e.EnumerateObject().ToDictionary(p => p.Name, p => FromJson(p.Value)),
        JsonValueKind.Array => e.EnumerateArray().Select(FromJson).ToList(),
        JsonValueKind.String => e.GetString(),
        JsonValueKind.Number => e.TryGetInt64(out long l) ? (object)l : e.GetDouble(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => null,
    };

    public static bool Truthy(object? v) => v switch
    {
        null or Undefined => false,
        bool b => b,
        long l => l != 0,
        double d => d != 0,
        string s => s.Length > 0,
        List<object?> l => l.Count > 0,
        Dictionary<string, object?> d => d.Count > 0,
        _ => true,
    };

    /// <summary>Python's <c>str()</c>, what <c>{{ value }}</c> prints.</summary>
    public static string Str(object? v) => v switch
    {
        Undefined => "",
        string s => s,
        _ => Repr(v),
    };

    /// <summary>Python's <c>repr()</c>.</summary>
    public static string Repr(object? v) => v switch
    {
        null => "None",
        Undefined => "",
        bool b => b ? "True" : "False",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => PyFloat(d),
        string s => ReprString(s),
        List<object?> list => "[" + string.Join(", ", list.Select(Repr)) + "]",
        Dictionary<string, object?> dict => "{" + string.Join(", ", dict.Select(kv => ReprString(kv.Key) + ": " + Repr(kv.Value))) + "}",
        Namespace => "<Namespace>",
        _ => v.ToString() ?? "",
    };

    static string ReprString(string s)
    {
        char quote = s.Contains('\'') && !s.Contains('"') ? '"' : '\'';
        var sb = new StringBuilder().Append(quote);
        foreach (char c in s)
        {
            switch (c)
            {
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    if (c == quote) sb.Append('\\').Append(c);
                    else if (c < 0x20 || c == 0x7f) sb.Append($"\\x{(int)c:x2}");
                    else sb.Append(c);
                    break;
            }
        }
        return sb.Append(quote).ToString();
    }

    /// <summary>Python's float repr: the shortest digits that round-trip, fixed notation for exponents -4..15.</summary>
    public static string PyFloat(double d)
    {
        if (double.IsNaN(d)) return "nan";
        if (double.IsInfinity(d)) return d > 0 ? "inf" : "-inf";
        if (d == 0) return double.IsNegative(d) ? "-0.0" : "0.0";
        string e = "";
        for (int digits = 0; digits <= 17; digits++)
        {
            e = d.ToString("E" + digits, CultureInfo.InvariantCulture);
            if (double.Parse(e, CultureInfo.InvariantCulture) == d) break;
        }
        var parts = e.Split('E');
        int exp = int.Parse(parts[1], CultureInfo.InvariantCulture);
        string sign = parts[0].StartsWith('-') ? "-" : "";
        string mantissa = parts[0].TrimStart('-').Replace(".", "");
        if (exp < -4 || exp >= 16)
            return $"{sign}{mantissa[0]}{(mantissa.Length > 1 ? "." + mantissa[1..] : "")}e{(exp < 0 ? "-" : "+")}{Math.Abs(exp):00}";
        if (exp < 0) return $"{sign}0.{new string('0', -exp - 1)}{mantissa}";
        string whole = mantissa.Length > exp + 1 ? mantissa[..(exp + 1)] : mantissa.PadRight(exp + 1, '0');
        string frac = mantissa.Length > exp + 1 ? mantissa[(exp + 1)..] : "0";
        return $"{sign}{whole}.{frac}";
    }

    /// <summary>
    /// <c>json.dumps(v, ensure_ascii=False)</c> with Python's default separators, or with
    /// <paramref name="indent"/> like <c>json.dumps(v, indent=n)</c>: what Hugging Face's <c>tojson</c> writes.
    /// </summary>
    public static string ToJson(object? v, int? indent = null, bool sortKeys = false)
    {
        var sb = new StringBuilder();
        WriteJson(sb, v, indent, 0, sortKeys);
        return sb.ToString();
    }

    static void WriteJson(StringBuilder sb, object? v, int? indent, int depth, bool sortKeys)
    {
        string itemSep = indent is null ? ", " : ",";
        void NewLine(int d)
        {
            if (indent is int n) sb.Append('\n').Append(' ', n * d);
        }
        switch (v)
        {
            case null or Undefined: sb.Append("null"); break;
            case bool b: sb.Append(b ? "true" : "false"); break;
            case long l: sb.Append(l.ToString(CultureInfo.InvariantCulture)); break;
            case double d: sb.Append(double.IsNaN(d) ? "NaN" : double.IsInfinity(d) ? (d > 0 ? "Infinity" : "-Infinity") : PyFloat(d)); break;
            case string s: JsonString(sb, s); break;
            case List<object?> list:
                if (list.Count == 0) { sb.Append("[]"); break; }
                sb.Append('[');
                for (int i = 0; i < list.Count; i++)
                {
                    if (i > 0) sb.Append(itemSep);
                    NewLine(depth + 1);
                    WriteJson(sb, list[i], indent, depth + 1, sortKeys);
                }
                NewLine(depth);
                sb.Append(']');
                break;
            case Dictionary<string, object?> dict:
                if (dict.Count == 0) { sb.Append("{}"); break; }
                sb.Append('{');
                var entries = sortKeys ? dict.OrderBy(kv => kv.Key, StringComparer.Ordinal) : dict.AsEnumerable();
                bool first = true;
                foreach (var (key, value) in entries)
                {
                    if (!first) sb.Append(itemSep);
                    first = false;
                    NewLine(depth + 1);
                    JsonString(sb, key);
                    sb.Append(": ");
                    WriteJson(sb, value, indent, depth + 1, sortKeys);
                }
                NewLine(depth);
                sb.Append('}');
                break;
            default: throw new TemplateException($"tojson: cannot serialize {TypeName(v)}");
        }
    }

    static void JsonString(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c < 0x20) sb.Append($"\\u{(int)c:x4}");
                    else sb.Append(c);
                    break;
            }
        }
        sb.Append('"');
    }

    public static string TypeName(object? v) => v switch
    {
        null => "None",
        Undefined u => $"undefined '{u.Name}'",
        bool => "bool",
        long => "int",
        double => "float",
        string => "str",
        List<object?> => "list",
        Dictionary<string, object?> => "dict",
        Namespace => "namespace",
        Callable => "function",
        _ => v.GetType().Name,
    };

    /// <summary>Python equality: numbers by value, lists and dicts element-wise.</summary>
    public static bool Equal(object? a, object? b) => (a, b) switch
    {
        (null, null) => true,
        (Undefined, Undefined) => true,
        (bool x, bool y) => x == y,
        (long x, long y) => x == y,
        (long or double or bool, long or double or bool) => ToDouble(a) == ToDouble(b),
        (string x, string y) => x == y,
        (List<object?> x, List<object?> y) => x.Count == y.Count && x.Zip(y).All(p => Equal(p.First, p.Second)),
        (Dictionary<string, object?> x, Dictionary<string, object?> y) =>
            x.Count == y.Count && x.All(kv => y.TryGetValue(kv.Key, out var o) && Equal(kv.Value, o)),
        _ => ReferenceEquals(a, b),
    };

    public static double ToDouble(object? v) => v switch
    {
        long l => l,
        double d => d,
        bool b => b ? 1 : 0,
        _ => throw new TemplateException($"expected a number, got {TypeName(v)}"),
    };

    /// <summary>Python ordering for numbers and strings.</summary>
    public static int Compare(object? a, object? b) => (a, b) switch
    {
        (string x, string y) => string.CompareOrdinal(x, y),
        (long or double or bool, long or double or bool) => ToDouble(a).CompareTo(ToDouble(b)),
        _ => throw new TemplateException($"cannot compare {TypeName(a)} with {TypeName(b)}"),
    };
}
