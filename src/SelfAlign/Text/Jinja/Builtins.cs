using System.Globalization;

namespace SelfAlign.Text.Jinja;

/// <summary>Attribute and item access, operators, iteration, methods and global functions, with Python semantics.</summary>
internal static class Builtins
{
    public static object? GetAttr(object? target, string name, int line) => target switch
    {
        Undefined u => throw new TemplateException($"line {line}: '{u.Name}' is undefined (reading '.{name}')"),
        Dictionary<string, object?> d => DictMethod(d, name) ?? (d.TryGetValue(name, out var v) ? v : new Undefined(name)),
        Namespace ns => ns.Fields.TryGetValue(name, out var v) ? v : new Undefined(name),
        LoopInfo loop => loop.Get(name),
        string s => StringMethod(s, name, line),
        List<object?> list => ListMethod(list, name),
        _ => new Undefined(name),
    };

    public static object? GetItem(object? target, object? index, int line)
    {
        switch (target, index)
        {
            case (Undefined u, _):
                throw new TemplateException($"line {line}: '{u.Name}' is undefined (indexing it)");
            case (List<object?> list, long i):
                long at = i < 0 ? list.Count + i : i;
                return at >= 0 && at < list.Count ? list[(int)at] : new Undefined($"[{i}]");
            case (string s, long i):
                long pos = i < 0 ? s.Length + i : i;
                return pos >= 0 && pos < s.Length ? s[(int)pos].ToString() : new Undefined($"[{i}]");
            case (Dictionary<string, object?> d, string key):
                return d.TryGetValue(key, out var v) ? v : new Undefined(key);
            case (_, string name):
                return GetAttr(target, name, line);
            default:
                return new Undefined($"[{Values.Repr(index)}]");
        }
    }

    public static object? Slice(object? target, object? start, object? stop, object? step, int line)
    {
        long Int(object? v, long fallback) => v is null or Undefined ? fallback : v is long l ? l
            : throw new TemplateException($"line {line}: slice indices must be integers");
        int count = target switch
        {
            string s => s.Length,
            List<object?> l => l.Count,
            _ => throw new TemplateException($"line {line}: cannot slice {Values.TypeName(target)}"),
        };
        long st = Int(step, 1);
        if (st == 0) throw new TemplateException($"line {line}: slice step cannot be zero");
        long Clamp(long i, long low, long high) => Math.Max(low, Math.Min(high, i < 0 ? i + count : i));
        var picked = new List<int>();
        if (st > 0)
            for (long i = Clamp(Int(start, 0), 0, count), end = Clamp(Int(stop, count), 0, count); i < end; i += st) picked.Add((int)i);
        else
            for (long i = Clamp(Int(start, count - 1), -1, count - 1), end = stop is null or Undefined ? -1 : Clamp(Int(stop, 0), -1, count - 1); i > end; i += st) picked.Add((int)i);
        return target is string str ? string.Concat(picked.Select(i => str[i])) : picked.Select(i => ((List<object?>)target!)[i]).ToList();
    }

    public static bool Contains(object? container, object? item, int line) => container switch
    {
        string s => item is string sub ? s.Contains(sub, StringComparison.Ordinal) : throw new TemplateException($"line {line}: 'in <string>' needs a string"),
        List<object?> l => l.Any(x => Values.Equal(x, item)),
        Dictionary<string, object?> d => item is string k && d.ContainsKey(k),
        Undefined u => throw new TemplateException($"line {line}: '{u.Name}' is undefined (testing 'in')"),
        _ => throw new TemplateException($"line {line}: cannot test membership in {Values.TypeName(container)}"),
    };

    public static object? Arithmetic(string op, object? a, object? b, int line)
    {
        switch (op, a, b)
        {
            case ("+", string x, string y): return x + y;
            case ("+", List<object?> x, List<object?> y): return x.Concat(y).ToList();
            case ("*", string x, long n): return string.Concat(Enumerable.Repeat(x, (int)Math.Max(0, n)));
            case ("*", List<object?> x, long n): return Enumerable.Repeat(x, (int)Math.Max(0, n)).SelectMany(l => l).ToList();
        }
        if (a is not (long or double or bool) || b is not (long or double or bool))
            throw new TemplateException($"line {line}: unsupported operand types for {op}: {Values.TypeName(a)} and {Values.TypeName(b)}");
        if (a is not double && b is not double)
        {
            long x = Convert.ToInt64(a), y = Convert.ToInt64(b);
            switch (op)
            {
                case "+": return x + y;
                case "-": return x - y;
                case "*": return x * y;
                case "//": return y == 0 ? throw DivZero(line) : (long)Math.Floor((double)x / y);
                case "%": return y == 0 ? throw DivZero(line) : ((x % y) + y) % y;
                case "**" when y >= 0: return (long)Math.Pow(x, y);
            }
        }
        double p = Values.ToDouble(a), q = Values.ToDouble(b);
        return op switch
        {
            "+" => p + q,
            "-" => p - q,
            "*" => p * q,
            "/" => q == 0 ? throw DivZero(line) : p / q,
            "//" => q == 0 ? throw DivZero(line) : Math.Floor(p / q),
            "%" => q == 0 ? throw DivZero(line) : p - q * Math.Floor(p / q),
            "**" => Math.Pow(p, q),
            _ => throw new TemplateException($"line {line}: unknown operator {op}"),
        };
    }

    static TemplateException DivZero(int line) => new($"line {line}: division by zero");

    public static IEnumerable<object?> Iterate(object? v, int line) => v switch
    {
        List<object?> l => l,
        string s => s.Select(c => (object?)c.ToString()),
        Dictionary<string, object?> d => d.Keys,
        Undefined => [],
        _ => throw new TemplateException($"line {line}: {Values.TypeName(v)} is not iterable"),
    };

    static Callable? DictMethod(Dictionary<string, object?> d, string name) => name switch
    {
        "items" => (_, _) => d.Select(kv => (object?)new List<object?> { kv.Key, kv.Value }).ToList(),
        "keys" => (_, _) => d.Keys.Select(k => (object?)k).ToList(),
        "values" => (_, _) => d.Values.ToList(),
        "get" => (args, _) => args.Count > 0 && args[0] is string k && d.TryGetValue(k, out var v) ? v : args.Count > 1 ? args[1] : null,
        _ => null,
    };

    static object? ListMethod(List<object?> list, string name) => name switch
    {
        "index" => (Callable)((args, _) => (long)list.FindIndex(x => Values.Equal(x, args[0]))),
        "count" => (Callable)((args, _) => (long)list.Count(x => Values.Equal(x, args[0]))),
        _ => new Undefined(name),
    };

    static object? StringMethod(string s, string name, int line)
    {
        string Arg(List<object?> args, int i, string fallback) => i < args.Count && args[i] is string a ? a : fallback;
        string? Chars(List<object?> args) => args.Count > 0 && args[0] is string c ? c : null;
        return name switch
        {
            "startswith" => (Callable)((args, _) => StartsOrEnds(s, args[0], true)),
            "endswith" => (Callable)((args, _) => StartsOrEnds(s, args[0], false)),
            "strip" => (Callable)((args, _) => Chars(args) is string c ? s.Trim(c.ToCharArray()) : s.Trim()),
            "lstrip" => (Callable)((args, _) => Chars(args) is string c ? s.TrimStart(c.ToCharArray()) : s.TrimStart()),
            "rstrip" => (Callable)((args, _) => Chars(args) is string c ? s.TrimEnd(c.ToCharArray()) : s.TrimEnd()),
            "split" => (Callable)((args, _) => Split(s, Chars(args), args.Count > 1 && args[1] is long n ? (int)n : -1)),
            "rsplit" => (Callable)((args, _) => RSplit(s, Chars(args), args.Count > 1 && args[1] is long n ? (int)n : -1)),
            "splitlines" => (Callable)((_, _) => s.Split('\n').Select(x => (object?)x.TrimEnd('\r')).ToList()),
            "upper" => (Callable)((_, _) => s.ToUpperInvariant()),
            "lower" => (Callable)((_, _) => s.ToLowerInvariant()),
            "title" => (Callable)((_, _) => Filters.Title(s)),
            "capitalize" => (Callable)((_, _) => Filters.Capitalize(s)),
            "replace" => (Callable)((args, _) => s.Replace(Arg(args, 0, ""), Arg(args, 1, ""))),
            "find" => (Callable)((args, _) => (long)s.IndexOf(Arg(args, 0, ""), StringComparison.Ordinal)),
            "count" => (Callable)((args, _) => (long)CountOf(s, Arg(args, 0, ""))),
            "join" => (Callable)((args, _) => string.Join(s, Iterate(args[0], line).Select(Values.Str))),
            "isdigit" => (Callable)((_, _) => s.Length > 0 && s.All(char.IsDigit)),
            "format" => throw new TemplateException($"line {line}: str.format is not supported; use ~ or the format filter"),
            _ => new Undefined(name),
        };
    }

    static bool StartsOrEnds(string s, object? arg, bool start)
    {
        var options = arg is List<object?> l ? l.OfType<string>() : [arg as string ?? ""];
        return options.Any(o => start ? s.StartsWith(o, StringComparison.Ordinal) : s.EndsWith(o, StringComparison.Ordinal));
    }

    static int CountOf(string s, string sub)
    {
        if (sub.Length == 0) return s.Length + 1;
        int n = 0;
        for (int i = s.IndexOf(sub, StringComparison.Ordinal); i >= 0; i = s.IndexOf(sub, i + sub.Length, StringComparison.Ordinal)) n++;
        return n;
    }

    // Python's str.split: no separator splits on whitespace runs and drops empty pieces.
    static List<object?> Split(string s, string? sep, int max)
    {
        if (sep is null)
        {
            var parts = s.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (max < 0 || parts.Length <= max + 1) return parts.Select(p => (object?)p).ToList();
            var head = parts.Take(max).ToList();
            string rest = s.TrimStart();
            foreach (var h in head) rest = rest[(rest.IndexOf(h, StringComparison.Ordinal) + h.Length)..].TrimStart();
            return head.Append(rest).Select(p => (object?)p).ToList();
        }
        if (sep.Length == 0) throw new TemplateException("empty separator");
        return (max < 0 ? s.Split(sep) : s.Split(sep, max + 1)).Select(p => (object?)p).ToList();
    }

    static List<object?> RSplit(string s, string? sep, int max)
    {
        if (max < 0 || sep is null) return Split(s, sep, max);
        var parts = new List<object?>();
        string rest = s;
        for (int i = 0; i < max; i++)
        {
            int at = rest.LastIndexOf(sep, StringComparison.Ordinal);
            if (at < 0) break;
            parts.Insert(0, rest[(at + sep.Length)..]);
            rest = rest[..at];
        }
        parts.Insert(0, rest);
        return parts;
    }

    /// <summary>The global functions of a chat template's environment.</summary>
    public static void AddGlobals(Scope scope, Func<DateTime> now)
    {
        scope.Set("range", (Callable)((args, _) =>
        {
            long start = 0, stop, step = 1;
            if (args.Count == 1) stop = (long)args[0]!;
            else { start = (long)args[0]!; stop = (long)args[1]!; if (args.Count > 2) step = (long)args[2]!; }
            var list = new List<object?>();
            for (long i = start; step > 0 ? i < stop : i > stop; i += step) list.Add(i);
            return list;
        }));
        scope.Set("namespace", (Callable)((args, kwargs) => new Namespace(new Dictionary<string, object?>(kwargs))));
        scope.Set("dict", (Callable)((args, kwargs) => new Dictionary<string, object?>(kwargs)));
        scope.Set("raise_exception", (Callable)((args, _) =>
            throw new TemplateException($"the chat template raised an error: {Values.Str(args.FirstOrDefault())}")));
        scope.Set("strftime_now", (Callable)((args, _) => Strftime(now(), Values.Str(args.FirstOrDefault()))));
    }

    /// <summary>The C strftime directives chat templates use (dates in system prompts).</summary>
    static string Strftime(DateTime t, string format)
    {
        var sb = new System.Text.StringBuilder();
        for (int i = 0; i < format.Length; i++)
        {
            if (format[i] != '%' || i + 1 == format.Length) { sb.Append(format[i]); continue; }
            char d = format[++i];
            sb.Append(d switch
            {
                'd' => t.Day.ToString("00"),
                'm' => t.Month.ToString("00"),
                'Y' => t.Year.ToString(),
                'y' => (t.Year % 100).ToString("00"),
                'b' => t.ToString("MMM", CultureInfo.InvariantCulture),
                'B' => t.ToString("MMMM", CultureInfo.InvariantCulture),
                'a' => t.ToString("ddd", CultureInfo.InvariantCulture),
                'A' => t.ToString("dddd", CultureInfo.InvariantCulture),
                'H' => t.Hour.ToString("00"),
                'M' => t.Minute.ToString("00"),
                'S' => t.Second.ToString("00"),
                'j' => t.DayOfYear.ToString("000"),
                '%' => "%",
                _ => "%" + d,
            });
        }
        return sb.ToString();
    }
}
