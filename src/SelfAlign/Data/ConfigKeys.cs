using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace SelfAlign.Data;

/// <summary>
/// Errors of JSON config files read into records (snake_case keys) in the product's words: the
/// line of the key, the key's dotted path and what it must be, instead of System.Text.Json's
/// .NET type names and positions.
/// </summary>
public static partial class ConfigKeys
{
    /// <summary>The line of every key in <paramref name="bytes"/>, by dotted path (list items as <c>key[i]</c>); a syntax error fails with file:line.</summary>
    public static Dictionary<string, int> Lines(string file, byte[] bytes)
    {
        var lines = new Dictionary<string, int>();
        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        // One frame per open object or list: its path, and the next item index of a list.
        var frames = new Stack<(string Path, bool List, int Next)>();
        string key = "";
        int LineAt(long offset) => 1 + bytes.AsSpan(0, (int)offset).Count((byte)'\n');
        string ValuePath()
        {
            if (frames.Count == 0) return "";
            var (path, list, next) = frames.Pop();
            frames.Push((path, list, next + (list ? 1 : 0)));
            return list ? $"{path}[{next}]" : path.Length == 0 ? key : $"{path}.{key}";
        }
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.PropertyName:
                        key = reader.GetString()!;
                        string parent = frames.Peek().Path;
                        lines.TryAdd(parent.Length == 0 ? key : $"{parent}.{key}", LineAt(reader.TokenStartIndex));
                        break;
                    case JsonTokenType.StartObject or JsonTokenType.StartArray:
                        frames.Push((ValuePath(), reader.TokenType == JsonTokenType.StartArray, 0));
                        break;
                    case JsonTokenType.EndObject or JsonTokenType.EndArray:
                        frames.Pop();
                        break;
                    default:
                        ValuePath();
                        break;
                }
            }
        }
        catch (JsonException e)
        {
            throw DataFormatException.InvalidJson(file, e);
        }
        return lines;
    }

    /// <summary>The error for a value System.Text.Json could not read into <paramref name="root"/>: which key, and what it must be.</summary>
    public static DataFormatException Explain(string file, JsonException e, Type root)
    {
        int line = (int)(e.LineNumber ?? 0) + 1;
        string key = (e.Path ?? "$").TrimStart('$').TrimStart('.');
        if (Unmapped().Match(e.Message) is { Success: true } unknown)
        {
            string name = unknown.Groups["name"].Value;
            var owner = TypeAt(root, key) ?? root;
            if (key.EndsWith(name, StringComparison.Ordinal)) owner = TypeAt(root, key.Contains('.') ? key[..key.LastIndexOf('.')] : "") ?? root;
            string known = string.Join(", ", Keys(owner));
            return new DataFormatException(file, line, $"unknown key '{name}'{(key.Length > 0 && !key.EndsWith(name, StringComparison.Ordinal) ? $" in '{key}'" : "")} (known keys: {known})");
        }
        if (e.Message.StartsWith("The JSON value could not be converted", StringComparison.Ordinal) && TypeAt(root, key) is Type type)
            return new DataFormatException(file, line, key.Length == 0 ? $"the file must hold {Word(type)}" : $"'{key}' must be {Word(type)}");
        return new DataFormatException(file, line, $"{(key.Length > 0 ? $"'{key}': " : "")}{JsonMessages.Describe(e)}");
    }

    /// <summary>The snake_case keys of a config record.</summary>
    public static IEnumerable<string> Keys(Type type) => type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
        .Where(p => p.CanWrite && p.GetIndexParameters().Length == 0
            && p.GetCustomAttribute<System.Text.Json.Serialization.JsonIgnoreAttribute>() is not { Condition: System.Text.Json.Serialization.JsonIgnoreCondition.Always })
        .Select(p => JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Name));

    /// <summary>The CLR type of the value at a dotted path below <paramref name="root"/>, or null when there is no such key.</summary>
    static Type? TypeAt(Type root, string key)
    {
        Type? type = root;
        foreach (string part in key.Length == 0 ? [] : key.Split('.'))
        {
            var name = Index().Replace(part, "");
            var property = type?.GetProperties().FirstOrDefault(p => JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Name) == name);
            type = property is null ? null : Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            if (type is not null && part != name) type = type.IsArray ? type.GetElementType() : type;
        }
        return type;
    }

    static string Word(Type type) => type switch
    {
        _ when type == typeof(int) || type == typeof(long) => "a whole number",
        _ when type == typeof(uint) || type == typeof(ulong) => "a whole number >= 0",
        _ when type == typeof(double) || type == typeof(float) => "a number",
        _ when type == typeof(string) => "a string",
        _ when type == typeof(bool) => "true or false",
        _ when type.IsArray => $"a list of {Word(type.GetElementType()!).Replace("a ", "").Replace("an ", "")}s",
        _ => $"an object (keys: {string.Join(", ", Keys(type))})",
    };

    [GeneratedRegex(@"The JSON property '(?<name>[^']*)' could not be mapped")]
    private static partial Regex Unmapped();

    [GeneratedRegex(@"\[\d+\]$")]
    private static partial Regex Index();
}
